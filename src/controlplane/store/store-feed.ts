import type { RegistryState, StoreStatus } from './types.ts';

/**
 * What every registry store publishes (the state and its connection status) and how it is followed:
 * the part of RegistryStore the etcd and file stores share.
 */
export abstract class StoreFeed {
  protected current: RegistryState | null = null;
  protected currentStatus: StoreStatus;
  private readonly changeListeners: Array<(s: RegistryState) => void> = [];
  private readonly statusListeners: Array<(s: StoreStatus) => void> = [];

  constructor(kind: StoreStatus['kind']) {
    this.currentStatus = { kind, state: 'connecting', since: Date.now() };
  }

  state(): RegistryState | null {
    return this.current;
  }

  status(): StoreStatus {
    return this.currentStatus;
  }

  onChange(listener: (s: RegistryState) => void): void {
    this.changeListeners.push(listener);
  }

  onStatus(listener: (s: StoreStatus) => void): void {
    this.statusListeners.push(listener);
  }

  protected publishState(state: RegistryState): void {
    this.current = state;
    for (const l of this.changeListeners) l(state);
  }

  protected publishStatus(status: StoreStatus): void {
    this.currentStatus = status;
    for (const l of this.statusListeners) l(status);
  }
}
