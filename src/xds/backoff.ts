// Reconnect delays: exponential from `baseMs` up to `maxMs`, each one picked at random in the upper
// half of its step ("equal jitter"), so a fleet of gateways that lost the same server does not
// reconnect in lockstep. reset() after a stream that worked.

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 500,
    private readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(ceiling / 2 + this.random() * (ceiling / 2));
  }

  reset(): void {
    this.attempt = 0;
  }
}
