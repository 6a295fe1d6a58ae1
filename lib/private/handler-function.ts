import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HANDLER_RUNTIME, handlerCode } from './handler-code';

/** What every function of this library gets: its own role, its own log group, X-Ray, explicit size and timeout. */
export interface HandlerFunctionOptions {
  /** Folder under `assets/` (= under `lambda/`). */
  readonly handlerName: string;
  readonly description: string;
  readonly environment: { [key: string]: string };
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly logEncryptionKey?: kms.IKey;
  readonly reservedConcurrentExecutions?: number;
  readonly memorySize?: number;
}

/** A prebundled handler with its own log group and a role that may write only to that log group. */
export class HandlerFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, options: HandlerFunctionOptions) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: options.logRetention,
      encryptionKey: options.logEncryptionKey,
    });
    this.role = new iam.Role(this, 'Role', {
      description: options.description,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    this.logGroup.grantWrite(this.role);
    this.function = new lambda.Function(this, 'Function', {
      description: options.description,
      runtime: HANDLER_RUNTIME,
      handler: 'index.handler',
      code: handlerCode(options.handlerName),
      role: this.role,
      logGroup: this.logGroup,
      memorySize: options.memorySize ?? 256,
      timeout: options.timeout,
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: options.reservedConcurrentExecutions,
      environment: { ...options.environment, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
  }
}
