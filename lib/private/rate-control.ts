import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { fail } from './validate';

/** `MaxConcurrency` of associations and maintenance-window tasks: a positive number or 1%–100%. */
const MAX_CONCURRENCY = /^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/;
/** `MaxErrors`: a number (0 allowed) or 0%–100%. */
const MAX_ERRORS = /^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$/;

/** Checks a rate-control value (AWS-FACTS 3.3, 4.1): pattern and at most 7 characters; tokens are skipped. */
export function checkRateControl(scope: IConstruct, prop: string, value: string | undefined, kind: 'concurrency' | 'errors'): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  const pattern = kind === 'concurrency' ? MAX_CONCURRENCY : MAX_ERRORS;
  if (value.length > 7 || !pattern.test(value)) {
    const allowed = kind === 'concurrency'
      ? 'a number from 1 or a percentage from 1% to 100%'
      : 'a number from 0 or a percentage from 0% to 100%';
    fail(scope, `\`${prop}\` must be ${allowed} (at most 7 characters), got: '${value}'`);
  }
}
