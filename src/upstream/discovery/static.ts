import type { EndpointAddress } from '../cluster.ts';
import type { Discovery, EndpointSink } from './discovery.ts';

// `static`: the configured addresses, weight 1, emitted once.

export class StaticDiscovery implements Discovery {
  constructor(private readonly addresses: EndpointAddress[]) {}

  async start(sink: EndpointSink): Promise<void> {
    sink(this.addresses);
  }

  close(): void {}
}
