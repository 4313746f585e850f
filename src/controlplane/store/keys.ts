// The registry's etcd key layout (SPEC): `<prefix>services/<name>` holds a service document (JSON);
// `<prefix>instances/<service>/<version>/<address>` one live instance, attached to its lease.

export interface KeyLayout {
  service(name: string): string;
  servicesPrefix: string;
  instance(service: string, version: string, address: string): string;
  /** Every instance of one service (deleted with it). */
  serviceInstancesPrefix(service: string): string;
  parse(key: string): { kind: 'service'; name: string } | { kind: 'instance'; service: string; version: string; address: string } | null;
}

export function keyLayout(prefix: string): KeyLayout {
  const services = `${prefix}services/`;
  const instances = `${prefix}instances/`;
  return {
    servicesPrefix: services,
    service: (name) => `${services}${name}`,
    instance: (service, version, address) => `${instances}${service}/${version}/${address}`,
    serviceInstancesPrefix: (service) => `${instances}${service}/`,
    parse(key) {
      if (key.startsWith(services)) {
        const name = key.slice(services.length);
        return name !== '' && !name.includes('/') ? { kind: 'service', name } : null;
      }
      if (key.startsWith(instances)) {
        const [service, version, ...rest] = key.slice(instances.length).split('/');
        const address = rest.join('/');
        return service && version && address ? { kind: 'instance', service, version, address } : null;
      }
      return null;
    },
  };
}
