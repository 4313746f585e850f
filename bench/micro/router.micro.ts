import { normalizePath } from '../../src/router/normalize-path.ts';
import { hostWithoutPort } from '../../src/router/host-table.ts';
import type { MicroSuite } from '../micro.ts';

// Per-request pure functions on the routing path.

export const suite: MicroSuite = {
  name: 'router',
  cases: [
    { name: 'normalizePath, clean path (fast path)', fn: () => normalizePath('/api/v1/users/42/orders') },
    { name: 'normalizePath, dot segments and escapes', fn: () => normalizePath('/api//v1/./users/%7Ebob/../42/%2e%2e/orders') },
    { name: 'hostWithoutPort, name:port', fn: () => hostWithoutPort('API.Example.com:8443') },
  ],
};
