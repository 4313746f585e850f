import type { Socket } from 'node:net';
import { Counter, Gauge } from 'prom-client';
import { registry } from '../observability/metrics.ts';

// The process-wide connection cap (`overload.maxConnections`), shared by every listener, on top of
// each listener's own `limits.maxConnections` (which node enforces per server). A connection over
// the cap is closed as soon as it is accepted, before any TLS work; closing connections makes room.

const droppedConnections = new Counter({
  name: 'gatehouse_connections_dropped_total',
  help: 'Connections closed at accept because the process-wide overload.maxConnections was reached',
  registers: [registry],
});
const openConnections = new Gauge({
  name: 'gatehouse_open_connections',
  help: 'Client connections open across every listener',
  registers: [registry],
});

export class ConnectionBudget {
  open = 0;
  max = Number.POSITIVE_INFINITY;
  private readonly release = () => {
    this.open--;
    openConnections.dec();
  };

  /** For a listener's 'connection' event (prepended, so it runs before TLS): false when the socket was closed. */
  admit(socket: Socket): boolean {
    if (this.open >= this.max) {
      droppedConnections.inc();
      socket.destroy();
      return false;
    }
    this.open++;
    openConnections.inc();
    socket.once('close', this.release);
    return true;
  }
}
