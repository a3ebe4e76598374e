import { BerthaError } from '@bertha/core';

/** The environment was used out of order: `step` before `reset`, or after the episode ended or the environment closed. */
export class EnvStateError extends BerthaError {
  declare readonly code: 'ERR_PARK_ENV_STATE';
  constructor(message: string) {
    super('ERR_PARK_ENV_STATE', message);
  }
}
