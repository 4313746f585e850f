// `static`: the configured addresses, weight 1, emitted once.
export class StaticDiscovery {
    addresses;
    constructor(addresses) {
        this.addresses = addresses;
    }
    async start(sink) {
        sink(this.addresses);
    }
    close() { }
}
