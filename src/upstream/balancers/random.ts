import type { Balancer, PickContext } from './balancer.ts';
import type { Endpoint } from '../endpoint.ts';
import { WeightedRandom } from './weighted-random.ts';

// Weighted random: each pick is independent, endpoint i is chosen with probability w_i / Σw.

export class RandomBalancer implements Balancer {
  private readonly wr = new WeightedRandom();

  update(endpoints: readonly Endpoint[]): void {
    this.wr.update(endpoints);
  }

  pick(_ctx: PickContext, exclude?: Endpoint): Endpoint | null {
    return this.wr.pick(exclude);
  }
}
