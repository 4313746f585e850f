import type { Balancer, PickContext } from './balancer.ts';
import type { Endpoint } from '../endpoint.ts';

// Smooth weighted round robin (as nginx does): every pick adds each endpoint's weight to its
// current score and takes the highest, then subtracts the total from the winner. Spreads a 3:1
// weighting as a,a,b,a rather than a,a,a,b. With equal weights it is plain round robin.

export class RoundRobinBalancer implements Balancer {
  private endpoints: readonly Endpoint[] = [];
  private scores = new Float64Array(0);

  update(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints;
    this.scores = new Float64Array(endpoints.length);
  }

  pick(_ctx: PickContext, exclude?: Endpoint): Endpoint | null {
    const eps = this.endpoints;
    const scores = this.scores;
    let best = -1;
    let total = 0;
    for (let i = 0; i < eps.length; i++) {
      const e = eps[i];
      if (e === exclude || e.weight <= 0) continue;
      scores[i] += e.weight;
      total += e.weight;
      if (best === -1 || scores[i] > scores[best]) best = i;
    }
    if (best === -1) return exclude ?? null;
    scores[best] -= total;
    return eps[best];
  }
}
