/** The schemas' validators (model contract, data-set results), compiled by Ajv at build time (scripts/vite-plugins.ts): no eval at run time. */
declare module 'virtual:attnlens-contract-validator' {
  import type { ErrorObject } from 'ajv';

  /** Lists every error. */
  const validate: { (data: unknown): boolean; errors?: ErrorObject[] | null };
  export default validate;
}

declare module 'virtual:attnlens-contract-validator/first' {
  import type { ErrorObject } from 'ajv';

  /** Stops at the first error. */
  const validate: { (data: unknown): boolean; errors?: ErrorObject[] | null };
  export default validate;
}

declare module 'virtual:attnlens-results-validator' {
  import type { ErrorObject } from 'ajv';

  /** Lists every error of a data-set results document. */
  const validate: { (data: unknown): boolean; errors?: ErrorObject[] | null };
  export default validate;
}

declare module 'virtual:attnlens-view-validator' {
  import type { ErrorObject } from 'ajv';

  /** Lists every error of a shared view (link payload or .attnlens file). */
  const validate: { (data: unknown): boolean; errors?: ErrorObject[] | null };
  export default validate;
}
