import * as path from 'path';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/**
 * Lambda runtime of every handler this library ships: the one constant. `scripts/bundle.js` derives its esbuild
 * target (`node24`) from this line.
 */
export const HANDLER_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Code for a handler prebundled into `assets/<name>/index.js` at package build time. */
export function handlerCode(name: string): lambda.Code {
  return lambda.Code.fromAsset(path.join(__dirname, '..', '..', 'assets', name));
}
