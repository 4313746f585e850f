/**
 * An expected, user-facing failure of the certificate tooling (refusal to overwrite, missing or
 * unusable CA, invalid names). The message is one line, fit to print as is; the CLI exits 1.
 */
export class CertsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertsError';
  }
}
