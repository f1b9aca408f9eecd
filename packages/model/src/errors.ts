import { SocError } from '@soc/errors';

/** The model artifact is missing, corrupt or does not match FEATURES: retrying cannot help. */
export class ModelError extends SocError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { ...opts, retriable: false });
  }
}
