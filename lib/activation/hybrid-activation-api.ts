import { Annotations, ArnFormat, CfnElement, Duration, Stack, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct, IConstruct } from 'constructs';
import { BootScriptPlatform } from './boot-script';
import { ActivationJanitor } from './activation-janitor';
import {
  acknowledgeAlarmWithoutAction,
  acknowledgeHandlerFindings,
  acknowledgeInstanceRoleFindings,
  acknowledgeInvokeAnyNode,
  acknowledgeRestApiFindings,
} from '../private/acknowledgements';
import { HandlerFunction } from '../private/handler-function';
import { checkMarkerTagValue, MARKER_TAG_KEY } from './private/marker-tag';
import { restrictNodeParameters } from './private/node-parameter-policy';
import { SSM_SERVICE, ssmPrincipal } from '../private/ssm-principal';
import { BootScriptAuth, renderBootScript } from './private/render-boot-script';
import { checkTagKey, checkTagValue, MAX_TAGS_PER_RESOURCE } from '../private/tags';
import { checkDurationRange, checkIntegerRange, fail } from '../private/validate';

const LINUX_SCRIPT_PATH = '/usr/local/sbin/register-node.sh';
/** Tag key recording who asked for an activation (the handlers' `OWNER_TAG_KEY`). */
const OWNER_TAG_KEY = 'hybrid-fleet:owner';
const HEREDOC_END = 'HYBRID_FLEET_REGISTER_NODE_EOF';

/**
 * How callers of a `HybridActivationApi` authenticate.
 */
export enum ActivationApiAuthorization {
  /**
   * AWS Signature Version 4 (`AWS_IAM`). Callers need `execute-api:Invoke` (see `grantInvoke`); EC2 instances sign
   * with their instance-profile credentials, and caller binding can tie the requested name to the instance id.
   */
  IAM = 'IAM',
  /**
   * An API key sent in the `x-api-key` header, for on-premises machines without AWS credentials.
   *
   * Weaker than `IAM`: a key is a shared secret, every holder can request any name, and AWS advises against API keys
   * as the only authorization. Narrow it with `allowedSourceCidrs` and/or `vpcEndpoints`, and rotate the key.
   */
  API_KEY = 'API_KEY',
}

/**
 * What `POST /activations` does when a node registered through the API already has the requested name.
 *
 * Only nodes that carry the API's marker tag are considered, and only they are ever deregistered.
 */
export enum NameConflictPolicy {
  /** Answer `409` (naming the node) when such a node is online; leave offline ones alone and issue the activation. */
  REJECT_IF_ONLINE = 'REJECT_IF_ONLINE',
  /** Answer `409` when such a node is online; deregister offline (connection lost) ones, then issue the activation. */
  REPLACE_OFFLINE = 'REPLACE_OFFLINE',
  /** Deregister every such node, online or not (re-imaged machines that come back with the same name). */
  ALWAYS_REPLACE = 'ALWAYS_REPLACE',
  /** Do not look: several nodes may share a name. */
  ALLOW_DUPLICATES = 'ALLOW_DUPLICATES',
}

/**
 * A tag key that callers may set on their activation, optionally restricted to some values.
 */
export interface AllowedTag {
  /**
   * The tag key.
   */
  readonly key: string;

  /**
   * Values the caller may choose from.
   *
   * @default - any value that Systems Manager accepts
   */
  readonly values?: string[];
}

/**
 * Names a group of callers may ask for (see `HybridActivationApiProps.callerNameRules`).
 */
export interface CallerNameRule {
  /**
   * Callers the rule applies to, as the API sees them: an IAM ARN (`arn:aws:iam::111122223333:user/ops`, or an
   * assumed-role session `arn:aws:sts::111122223333:assumed-role/<role>/<session>`), or `apiKey:<API key id>`.
   * `*` stands for any run of characters, e.g. `arn:aws:sts::111122223333:assumed-role/DataCentre1/*` for every
   * session of a role (IAM Roles Anywhere names each session after its certificate).
   */
  readonly caller: string;

  /**
   * Names those callers may ask for; `*` stands for any run of characters (e.g. `dc1-*`), everything else is literal.
   */
  readonly names: string;
}

/**
 * Properties for a `HybridActivationApi`.
 */
export interface HybridActivationApiProps {
  /**
   * Role that registered machines assume (the activation's `IamRole`).
   *
   * It must trust `ssm.amazonaws.com` and carry `AmazonSSMManagedInstanceCore`. Its *name* is passed to
   * `CreateActivation`, so create it at path `/` and keep the name within 64 characters.
   *
   * @default - a new role trusted by `ssm.amazonaws.com` (with `aws:SourceAccount`/`aws:SourceArn` conditions) that
   * carries `AmazonSSMManagedInstanceCore`
   */
  readonly instanceRole?: iam.IRole;

  /**
   * Parameter Store paths that registered nodes may read; reads of any other parameter are denied.
   *
   * `AmazonSSMManagedInstanceCore` lets every node read every parameter (`ssm:GetParameter`, `ssm:GetParameters` on
   * `*`). With this prop a customer-managed policy on `instanceRole` denies `ssm:GetParameter`,
   * `ssm:GetParameters` and `ssm:GetParametersByPath` outside these paths (e.g. `['/fleet/', '/aws/service/']`);
   * `[]` denies every parameter read. At most 20 paths, each `/` then segments of letters, digits, `_`, `.` and `-`.
   * Opt-in because documents and agents that read parameters on the node (the CloudWatch agent's configuration,
   * your own scripts) would otherwise stop working after an upgrade; list what they read.
   *
   * @default - no restriction: nodes may read every parameter of the account and region
   */
  readonly nodeParameterPaths?: string[];

  /**
   * How long each issued activation code stays usable; the expiry is computed per request.
   *
   * From 1 minute to 30 days (Systems Manager's range); above 1 day a synth warning is emitted. Codes are single-use, so a short lifetime only limits how long a
   * leaked, unused code is worth anything.
   *
   * @default Duration.hours(1)
   */
  readonly activationLifetime?: Duration;

  /**
   * Tags put on every activation, and so on every node it registers (e.g. a patch group and `PatchMode=report`).
   *
   * Keys must not be `Name` or the marker tag key, must not contain `+` and must not start with `aws:`.
   *
   * @default - none
   */
  readonly defaultTags?: { [key: string]: string };

  /**
   * Tag keys (and optionally values) that callers may set in `POST /activations`.
   *
   * Requested tags outside this list are refused with `400`. A requested tag overrides a `defaultTags` entry of the
   * same key.
   *
   * @default - callers may not set tags
   */
  readonly allowedTags?: AllowedTag[];

  /**
   * Value of the marker tag (`HybridActivationApi.MARKER_TAG_KEY`) that this API puts on every activation, and so on
   * every node it registers. It is how the API recognizes its own nodes: the janitor deregisters, the tag route tags
   * and the name-conflict policy replaces only nodes that carry it.
   *
   * Set it explicitly and never change it: nodes registered under an old value are no longer managed by this API.
   * A tag value: 1 to 256 letters, numbers, spaces and `_ . : / = + - @`.
   *
   * @default - the construct's address (`node.addr`), a hash of its path: renaming or moving the stack or this
   * construct changes it. The synth warning `cdk-ssm-hybrid-fleet:markerTagValueNotPinned` names the current value
   * to pin.
   */
  readonly markerTagValue?: string;

  /**
   * How callers authenticate.
   *
   * @default ActivationApiAuthorization.IAM
   */
  readonly authorization?: ActivationApiAuthorization;

  /**
   * With IAM authorization, tie an EC2 caller to its own name: when the caller is an EC2 instance-profile session
   * (its session name is an instance id), the requested name must equal that instance id and may be omitted.
   *
   * Whatever this says, every activation records its caller (IAM ARN, or `apiKey:<id>`) in the tag
   * `hybrid-fleet:owner`, and only that caller (or, with binding, the EC2 instance the node is named after) may
   * replace the node or its unused activation, or tag the node.
   *
   * @default true
   */
  readonly callerBinding?: boolean;

  /**
   * Per-caller name rules: a caller that matches one or more rules may only ask for a name that one of them allows
   * (else `403`); callers that match no rule may ask for any name.
   *
   * @default - no rules
   */
  readonly callerNameRules?: CallerNameRule[];

  /**
   * Only these source IP ranges (CIDR notation) may call the API; everything else is denied by the resource policy.
   *
   * @default - any source address
   */
  readonly allowedSourceCidrs?: string[];

  /**
   * Make the API private, reachable only through these interface VPC endpoints (`execute-api`).
   *
   * @default - a regional, public endpoint
   */
  readonly vpcEndpoints?: ec2.IInterfaceVpcEndpoint[];

  /**
   * Steady-state requests per second the stage accepts before answering `429`.
   *
   * Greater than 0 and at most 10,000 (fractions allowed).
   *
   * @default 10
   */
  readonly throttlingRateLimit?: number;

  /**
   * Burst of requests the stage accepts before answering `429`.
   *
   * A whole number from 1 to 5,000.
   *
   * @default 20
   */
  readonly throttlingBurstLimit?: number;

  /**
   * Name of the API Gateway stage (part of the URL).
   *
   * 1 to 128 letters, numbers and underscores (`[a-zA-Z0-9_]`).
   *
   * @default 'v1'
   */
  readonly stageName?: string;

  /**
   * How long access logs and handler logs are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Customer-managed KMS key that encrypts the access-log and handler-log groups.
   *
   * The key policy must allow the CloudWatch Logs service principal of this region to use it.
   *
   * @default - CloudWatch Logs' own encryption at rest
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * Regional AWS WAF web ACL to associate with the API stage.
   *
   * @default - no web ACL
   */
  readonly webAclArn?: string;

  /**
   * Create the account-wide API Gateway CloudWatch Logs role (`AWS::ApiGateway::Account`).
   *
   * Access logging needs that role to be set once per account and region. It is an account singleton, so this
   * construct does not touch it unless asked: leave `false` when the account already has it (most do), set `true`
   * only when this stack should own that account-wide setting.
   *
   * @default false
   */
  readonly apiGatewayCloudWatchRole?: boolean;

  /**
   * Reserved concurrency of the handler function, to cap how many activations can be created in parallel.
   *
   * A whole number from 1 to 1,000 (the account's concurrency quota must leave room for it).
   *
   * @default - unreserved (the account's shared pool)
   */
  readonly reservedConcurrentExecutions?: number;

  /**
   * Create a CloudWatch alarm that fires when the API answers with 5xx errors.
   *
   * The alarm is exposed as `serverErrorAlarm`; add actions to it.
   *
   * @default true
   */
  readonly serverErrorAlarm?: boolean;

  /**
   * Action of the alarms this construct creates (5xx answers, janitor errors), e.g. an SNS topic action.
   *
   * @default - no action; add one to `serverErrorAlarm` and `janitor.errorAlarm`
   */
  readonly alarmAction?: cloudwatch.IAlarmAction;

  /**
   * What to do when a node registered through this API already has the requested name.
   *
   * @default NameConflictPolicy.REPLACE_OFFLINE
   */
  readonly nameConflictPolicy?: NameConflictPolicy;

  /**
   * Refuse new activations (`429`) once this many nodes registered through this API exist.
   *
   * The standard instance tier allows 1,000 hybrid nodes per account and region (all APIs and activations together);
   * a ceiling below that keeps room for other registrations. Nodes this request would replace are not counted.
   *
   * A whole number from 1 to 100,000.
   *
   * @default - no ceiling
   */
  readonly maxRegisteredNodes?: number;

  /**
   * Run a janitor that deletes this API's expired and fully used activations (see `ActivationJanitor`).
   *
   * @default true
   */
  readonly janitor?: boolean;

  /**
   * When the janitor runs.
   *
   * @default events.Schedule.rate(Duration.hours(1))
   */
  readonly janitorSchedule?: events.Schedule;

  /**
   * Let the janitor deregister nodes registered through this API that have been offline longer than this.
   *
   * From 30 minutes to 365 days.
   *
   * @default - nodes are never deregistered by the janitor
   */
  readonly deregisterOfflineAfter?: Duration;

  /**
   * At most this many nodes deregistered per janitor run (with `deregisterOfflineAfter`).
   *
   * A whole number from 1 to 1,000.
   *
   * @default 10
   */
  readonly maxDeregistrationsPerRun?: number;

  /**
   * Run the janitor in dry-run mode: it only reports what it would delete and deregister.
   *
   * @default false
   */
  readonly janitorDryRun?: boolean;
}

/**
 * An activation API: what other constructs need to recognize the activations and nodes it issued.
 */
export interface IHybridActivationApi extends IConstruct {
  /**
   * Value of the marker tag (`HybridActivationApi.MARKER_TAG_KEY`) that the API puts on every activation it issues,
   * and so on every node it registers.
   *
   * @attribute
   */
  readonly markerTagValue: string;
}

/**
 * Attributes of an activation API defined elsewhere (`HybridActivationApi.fromHybridActivationApiAttributes`).
 */
export interface HybridActivationApiAttributes {
  /**
   * The API's `markerTagValue`: a Systems Manager tag value of 1 to 256 letters, numbers, spaces and
   * `_ . : / = + - @`.
   */
  readonly markerTagValue: string;
}

/**
 * Define an authenticated HTTP API that hands each booting machine its own single-use Systems Manager hybrid
 * activation, named after the machine.
 *
 * `POST /activations` (`{"name", "tags"}` → `201`) and `GET /activate?name=` (→ `200`) return
 * `{"activationId", "activationCode", "region", "instanceName", "expiresAt"}`. Every method requires authorization
 * (IAM by default). The activation code is never logged.
 */
export class HybridActivationApi extends Construct implements IHybridActivationApi {
  /**
   * Key of the marker tag that every activation issued by an API of this library carries (copied to the node).
   */
  public static readonly MARKER_TAG_KEY = MARKER_TAG_KEY;

  /**
   * Refer to an API defined in another stack or app by its marker tag value, e.g. for an `ActivationJanitor` deployed
   * apart from it.
   */
  public static fromHybridActivationApiAttributes(scope: Construct, id: string, attrs: HybridActivationApiAttributes): IHybridActivationApi {
    class Import extends Construct implements IHybridActivationApi {
      public readonly markerTagValue = attrs.markerTagValue;
    }
    const imported = new Import(scope, id);
    checkMarkerTagValue(imported, attrs.markerTagValue);
    return imported;
  }

  /** The REST API. */
  public readonly restApi: apigateway.RestApi;

  /** The function that creates activations. */
  public readonly handler: lambda.IFunction;

  /** The function behind `PUT /instances/{instanceId}/tags`, when `allowedTags` is not empty. */
  public readonly tagHandler?: lambda.IFunction;

  /** The janitor, unless `janitor` is false. */
  public readonly janitor?: ActivationJanitor;

  /** What `POST /activations` does on a name conflict. */
  public readonly nameConflictPolicy: NameConflictPolicy;

  /** The role that registered machines assume. */
  public readonly instanceRole: iam.IRole;

  /** The policy that limits the parameters nodes may read, when `nodeParameterPaths` is given. */
  public readonly nodeParameterPolicy?: iam.ManagedPolicy;

  /** The API key callers send, when `authorization` is `API_KEY`. */
  public readonly apiKey?: apigateway.IApiKey;

  /** Access-log group of the API stage. */
  public readonly accessLogGroup: logs.ILogGroup;

  /** Alarm on 5xx answers, unless `serverErrorAlarm` is false. */
  public readonly serverErrorAlarm?: cloudwatch.Alarm;

  /** Value of the marker tag (`MARKER_TAG_KEY`) that identifies activations, and so nodes, issued by this API. */
  public readonly markerTagValue: string;

  /** How callers authenticate. */
  public readonly authorization: ActivationApiAuthorization;

  constructor(scope: Construct, id: string, props: HybridActivationApiProps = {}) {
    super(scope, id);

    const authorization = props.authorization ?? ActivationApiAuthorization.IAM;
    const lifetime = props.activationLifetime ?? Duration.hours(1);
    const rateLimit = props.throttlingRateLimit ?? 10;
    const burstLimit = props.throttlingBurstLimit ?? 20;
    const stageName = props.stageName ?? 'v1';
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const defaultTags = props.defaultTags ?? {};
    const allowedTags = props.allowedTags ?? [];

    this.authorization = authorization;
    this.nameConflictPolicy = props.nameConflictPolicy ?? NameConflictPolicy.REPLACE_OFFLINE;
    this.markerTagValue = this.resolveMarkerTagValue(props.markerTagValue);
    this.validate(props, lifetime, rateLimit, burstLimit, stageName, defaultTags, allowedTags);

    this.instanceRole = props.instanceRole ?? this.createInstanceRole();
    this.nodeParameterPolicy = restrictNodeParameters(this, 'nodeParameterPaths', this.instanceRole, props.nodeParameterPaths);
    const creator = this.createActivationHandler(props, lifetime, retention, defaultTags, allowedTags);
    this.handler = creator.function;
    const tagger = allowedTags.length > 0 ? this.createTagHandler(props, retention, allowedTags) : undefined;
    this.tagHandler = tagger?.function;
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention,
      encryptionKey: props.logEncryptionKey,
    });
    this.restApi = this.createRestApi(props, stageName, rateLimit, burstLimit);
    this.apiKey = authorization === ActivationApiAuthorization.API_KEY ? this.createApiKey() : undefined;

    if (props.webAclArn !== undefined) {
      const association = new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
        resourceArn: this.restApi.deploymentStage.stageArn,
        webAclArn: props.webAclArn,
      });
      association.node.addDependency(this.restApi.deploymentStage);
    }
    if (props.serverErrorAlarm ?? true) {
      this.serverErrorAlarm = this.metricServerErrors().createAlarm(this, 'ServerErrorAlarm', {
        alarmDescription: `The hybrid activation API ${this.node.path} answered with 5xx errors`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (props.alarmAction) this.serverErrorAlarm.addAlarmAction(props.alarmAction);
      else acknowledgeAlarmWithoutAction(this.serverErrorAlarm);
    }
    if (props.janitor ?? true) {
      this.janitor = new ActivationJanitor(this, 'Janitor', {
        api: this,
        instanceRole: this.instanceRole,
        schedule: props.janitorSchedule,
        deregisterOfflineAfter: props.deregisterOfflineAfter,
        maxDeregistrationsPerRun: props.maxDeregistrationsPerRun,
        dryRun: props.janitorDryRun,
        logRetention: retention,
        logEncryptionKey: props.logEncryptionKey,
        alarmAction: props.alarmAction,
      });
    } else if (props.deregisterOfflineAfter || props.maxDeregistrationsPerRun || props.janitorSchedule || props.janitorDryRun) {
      fail(this, '`deregisterOfflineAfter`, `maxDeregistrationsPerRun`, `janitorSchedule` and `janitorDryRun` need the janitor; remove them or drop `janitor: false`, got: janitor false');
    }

    if (props.instanceRole === undefined) acknowledgeInstanceRoleFindings(this.instanceRole);
    const handlerChoices = {
      reservedConcurrency: props.reservedConcurrentExecutions !== undefined,
      logEncryptionKey: props.logEncryptionKey !== undefined,
      asynchronous: false,
    };
    acknowledgeHandlerFindings(creator, { ...handlerChoices, markedNodes: this.deregistersOnConflict });
    if (tagger) acknowledgeHandlerFindings(tagger, { ...handlerChoices, markedNodes: true });
    acknowledgeRestApiFindings(this.restApi, this.accessLogGroup, {
      logEncryptionKey: props.logEncryptionKey !== undefined,
      webAcl: props.webAclArn !== undefined,
      apiKey: authorization === ActivationApiAuthorization.API_KEY,
    });
  }

  /**
   * The URL of the deployed stage, ending with `/` (e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/v1/`).
   */
  public get url(): string {
    return this.restApi.url;
  }

  /**
   * Grant a principal the right to call the API's methods (`execute-api:Invoke` on `POST /activations`,
   * `GET /activate` and, when tags are allowed, `PUT /instances/{instanceId}/tags` of the deployed stage).
   *
   * Use it for the instance roles of EC2 machines that boot with the Linux or Windows boot script.
   */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    const statement = this.invokePolicyStatement();
    const grant = iam.Grant.addToPrincipal({ grantee, actions: statement.actions, resourceArns: statement.resources });
    if (this.tagHandler && Construct.isConstruct(grantee)) this.acknowledgeInvokeAnyNode(grantee);
    return grant;
  }

  /**
   * A customer-managed policy that allows calling the API's methods (the `invokePolicyStatement()`), created once
   * in this construct; attach it to the roles of machines that register (`policy.attachToRole(role)`).
   */
  public invokeManagedPolicy(): iam.ManagedPolicy {
    const existing = this.node.tryFindChild('InvokePolicy');
    if (existing instanceof iam.ManagedPolicy) return existing;
    const policy = new iam.ManagedPolicy(this, 'InvokePolicy', {
      description: `Lets machines call the hybrid activation API ${this.node.path}`,
      statements: [this.invokePolicyStatement()],
    });
    if (this.tagHandler) this.acknowledgeInvokeAnyNode(policy);
    return policy;
  }

  private acknowledgeInvokeAnyNode(scope: Construct): void {
    const stack = Stack.of(this);
    const logicalId = (c: Construct) => stack.resolve(stack.getLogicalId(c.node.defaultChild as CfnElement)) as string;
    acknowledgeInvokeAnyNode(scope, logicalId(this.restApi), logicalId(this.restApi.deploymentStage));
  }

  /**
   * A policy statement that allows calling the API's methods, for policies you manage yourself (a customer-managed
   * policy, a permission boundary, another account's role). `grantInvoke` adds the same statement to a principal.
   */
  public invokePolicyStatement(): iam.PolicyStatement {
    const stage = this.restApi.deploymentStage.stageName;
    return new iam.PolicyStatement({
      actions: ['execute-api:Invoke'],
      resources: [
        this.restApi.arnForExecuteApi('POST', '/activations', stage),
        this.restApi.arnForExecuteApi('GET', '/activate', stage),
        ...(this.tagHandler ? [this.restApi.arnForExecuteApi('PUT', '/instances/*/tags', stage)] : []),
      ],
    });
  }

  /**
   * Render the boot script for a platform with this API's URL and authentication mode baked in.
   *
   * The result contains a deploy-time token for the URL; use it in user data or a stack output. For on-premises
   * machines, the unrendered scripts in the package's `boot/` folder read `ACTIVATION_API_URL` instead.
   */
  public renderBootScript(platform: BootScriptPlatform): string {
    return renderBootScript(platform, this.url, this.bootScriptAuth);
  }

  /**
   * EC2 user data that registers the instance through this API at first boot.
   *
   * Linux: the rendered script is written to `/usr/local/sbin/register-node.sh` (kept for re-registration) and run;
   * add further commands to the returned user data as usual. Windows: the script runs inline and ends the user data
   * with its exit code, so add your own commands before calling this or use `renderBootScript`.
   *
   * With `API_KEY` authorization the script reads the key from `ACTIVATION_API_KEY`; set it (e.g. from Secrets
   * Manager) before the script runs.
   */
  public userData(platform: BootScriptPlatform): ec2.UserData {
    const script = this.renderBootScript(platform);
    if (platform === BootScriptPlatform.WINDOWS) {
      const windows = ec2.UserData.forWindows();
      windows.addCommands(script);
      return windows;
    }
    const linux = ec2.UserData.forLinux();
    linux.addCommands(
      'install -d -m 0755 /usr/local/sbin',
      `cat > ${LINUX_SCRIPT_PATH} <<'${HEREDOC_END}'`,
      script,
      HEREDOC_END,
      `chmod 0700 ${LINUX_SCRIPT_PATH}`,
      LINUX_SCRIPT_PATH,
    );
    return linux;
  }

  /**
   * Number of requests the API answered with a 5xx status (sum over 5 minutes).
   */
  public metricServerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.restApi.deploymentStage.metricServerError({ statistic: 'Sum', ...props });
  }

  /**
   * Number of requests the API answered with a 4xx status (sum over 5 minutes), including throttled ones.
   */
  public metricClientErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.restApi.deploymentStage.metricClientError({ statistic: 'Sum', ...props });
  }

  /**
   * Number of requests the API received (sum over 5 minutes).
   */
  public metricRequests(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.restApi.deploymentStage.metricCount({ statistic: 'Sum', ...props });
  }

  /**
   * Time between the API receiving a request and answering it (p99 over 5 minutes).
   */
  public metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.restApi.deploymentStage.metricLatency({ statistic: 'p99', ...props });
  }

  /**
   * Number of handler errors (the function failed or timed out, not 4xx answers), sum over 5 minutes.
   */
  public metricHandlerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handler.metricErrors({ statistic: 'Sum', ...props });
  }

  /** The marker tag value: validated when given, else today's default (the address) with a warning to pin it. */
  private resolveMarkerTagValue(value: string | undefined): string {
    if (value === undefined) {
      Annotations.of(this).addWarningV2(
        'cdk-ssm-hybrid-fleet:markerTagValueNotPinned',
        `\`markerTagValue\` is not set, so it is derived from this construct's path: '${this.node.addr}'. Renaming or moving ` +
          'the stack or this construct changes it, and nodes registered under the old value are no longer managed by ' +
          `this API (janitor, tag route, name conflicts). Pin it: markerTagValue: '${this.node.addr}'`,
      );
      return this.node.addr;
    }
    checkMarkerTagValue(this, value);
    return value;
  }

  private get bootScriptAuth(): BootScriptAuth {
    return this.authorization === ActivationApiAuthorization.API_KEY ? BootScriptAuth.API_KEY : BootScriptAuth.IAM;
  }

  private validate(
    props: HybridActivationApiProps,
    lifetime: Duration,
    rateLimit: number,
    burstLimit: number,
    stageName: string,
    defaultTags: { [key: string]: string },
    allowedTags: AllowedTag[],
  ): void {
    checkDurationRange(this, 'activationLifetime', lifetime, Duration.minutes(1), Duration.days(30));
    if (!lifetime.isUnresolved() && lifetime.toSeconds() > Duration.days(1).toSeconds()) {
      Annotations.of(this).addWarningV2(
        'cdk-ssm-hybrid-fleet:longActivationLifetime',
        `\`activationLifetime\` of ${lifetime.toHumanString()} keeps unused activation codes valid for long; booting machines need minutes`,
      );
    }
    if (!Token.isUnresolved(rateLimit) && (!(rateLimit > 0) || rateLimit > 10000)) {
      fail(this, `\`throttlingRateLimit\` must be greater than 0 and at most 10000 requests per second, got: ${rateLimit}`);
    }
    checkIntegerRange(this, 'throttlingBurstLimit', burstLimit, 1, 5000);
    checkIntegerRange(this, 'reservedConcurrentExecutions', props.reservedConcurrentExecutions, 1, 1000);
    checkIntegerRange(this, 'maxRegisteredNodes', props.maxRegisteredNodes, 1, 100000);
    if (!Token.isUnresolved(stageName) && !/^[a-zA-Z0-9_]{1,128}$/.test(stageName)) {
      fail(this, `\`stageName\` may contain only letters, numbers and underscores (1 to 128), got: '${stageName}'`);
    }
    for (const cidr of props.allowedSourceCidrs ?? []) {
      if (!Token.isUnresolved(cidr) && !isCidr(cidr)) {
        fail(this, `\`allowedSourceCidrs\` entries must be IPv4 or IPv6 CIDR blocks like 203.0.113.0/24, got: '${cidr}'`);
      }
    }
    if (props.allowedSourceCidrs !== undefined && props.allowedSourceCidrs.length === 0) {
      fail(this, '`allowedSourceCidrs` must list at least one CIDR block when given (omit it to allow any source), got: []');
    }
    if (props.vpcEndpoints !== undefined && props.vpcEndpoints.length === 0) {
      fail(this, '`vpcEndpoints` must list at least one interface VPC endpoint when given (omit it for a public API), got: []');
    }
    if (props.instanceRole && !Token.isUnresolved(props.instanceRole.roleName) && props.instanceRole.roleName.length > 64) {
      fail(this, `\`instanceRole\` name must be at most 64 characters (CreateActivation's IamRole limit), got: '${props.instanceRole.roleName}'`);
    }
    this.validateTags(defaultTags, allowedTags);
    this.validateCallerNameRules(props.callerNameRules ?? []);
  }

  private validateTags(defaultTags: { [key: string]: string }, allowedTags: AllowedTag[]): void {
    const reserved = ['Name', HybridActivationApi.MARKER_TAG_KEY, OWNER_TAG_KEY];
    for (const [key, value] of Object.entries(defaultTags)) {
      checkTagKey(this, 'defaultTags', key);
      if (reserved.includes(key)) {
        fail(this, `\`defaultTags\` must not set '${key}': the API sets it itself, got: '${key}'`);
      }
      checkTagValue(this, 'defaultTags', key, value);
    }
    const seen = new Set<string>();
    for (const rule of allowedTags) {
      checkTagKey(this, 'allowedTags', rule.key);
      if (reserved.includes(rule.key)) {
        fail(this, `\`allowedTags\` must not allow '${rule.key}': the API sets it itself, got: '${rule.key}'`);
      }
      if (seen.has(rule.key)) {
        fail(this, `\`allowedTags\` lists the key '${rule.key}' twice, got: '${rule.key}'`);
      }
      seen.add(rule.key);
      if (rule.values !== undefined && rule.values.length === 0) {
        fail(this, `\`allowedTags\` entry '${rule.key}' must list at least one value when \`values\` is given, got: []`);
      }
      for (const value of rule.values ?? []) checkTagValue(this, 'allowedTags', rule.key, value);
    }
    // Name + marker + owner + every default must leave room on the node (50 tags at most).
    const fixed = 3 + Object.keys(defaultTags).length;
    if (fixed > MAX_TAGS_PER_RESOURCE) {
      fail(
        this,
        `\`defaultTags\` may hold at most ${MAX_TAGS_PER_RESOURCE - 3} tags (a node holds ${MAX_TAGS_PER_RESOURCE}, the API adds Name, its marker and the owner tag), got: ${fixed - 3}`,
      );
    }
  }

  private validateCallerNameRules(rules: CallerNameRule[]): void {
    for (const rule of rules) {
      if (!Token.isUnresolved(rule.caller) && !/^(arn:|apiKey:|\*)/.test(rule.caller)) {
        fail(this, `\`callerNameRules\` caller must be an IAM ARN or apiKey:<id>, either may use *, got: '${rule.caller}'`);
      }
      if (!Token.isUnresolved(rule.caller) && rule.caller.length > 2048) {
        fail(this, `\`callerNameRules\` caller must be at most 2048 characters, got: ${rule.caller.length}`);
      }
      if (!Token.isUnresolved(rule.names) && !/^[\p{L}\p{Z}\p{N}_.:/=+\-@*]{1,256}$/u.test(rule.names)) {
        fail(
          this,
          `\`callerNameRules\` names must be 1 to 256 characters of letters, numbers, spaces, _ . : / = + - @ and *, got: '${rule.names}'`,
        );
      }
    }
  }

  private createInstanceRole(): iam.Role {
    return new iam.Role(this, 'InstanceRole', {
      description: `Role of machines registered through the hybrid activation API ${this.node.path}`,
      assumedBy: ssmPrincipal(this),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
  }

  /** Whether `POST /activations` may deregister nodes (the conflict policy replaces some). */
  private get deregistersOnConflict(): boolean {
    return this.nameConflictPolicy === NameConflictPolicy.REPLACE_OFFLINE
      || this.nameConflictPolicy === NameConflictPolicy.ALWAYS_REPLACE;
  }

  /** Statement that allows an action on managed nodes only when they carry this API's marker tag. */
  private markedNodeStatement(sid: string, actions: string[], conditionKey: string): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid,
      actions,
      resources: [Stack.of(this).formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
      conditions: { StringEquals: { [`${conditionKey}/${HybridActivationApi.MARKER_TAG_KEY}`]: this.markerTagValue } },
    });
  }

  private createActivationHandler(
    props: HybridActivationApiProps,
    lifetime: Duration,
    retention: logs.RetentionDays,
    defaultTags: { [key: string]: string },
    allowedTags: AllowedTag[],
  ): HandlerFunction {
    const handler = new HandlerFunction(this, 'CreateActivation', {
      handlerName: 'create-activation',
      description: `Creates single-use Systems Manager hybrid activations for ${this.node.path}`,
      // API Gateway waits at most 29 s; SDK retries are budgeted well inside this.
      timeout: Duration.seconds(25),
      logRetention: retention,
      logEncryptionKey: props.logEncryptionKey,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        ...this.commonHandlerEnvironment(props, allowedTags),
        INSTANCE_ROLE_NAME: this.instanceRole.roleName,
        ACTIVATION_LIFETIME_SECONDS: lifetime.toSeconds().toString(),
        DEFAULT_TAGS: JSON.stringify(defaultTags),
        NAME_CONFLICT_POLICY: this.nameConflictPolicy,
        MAX_REGISTERED_NODES: String(props.maxRegisteredNodes ?? 0),
        CALLER_NAME_RULES: JSON.stringify((props.callerNameRules ?? []).map((r) => ({ caller: r.caller, names: r.names }))),
      },
    });

    const requestTagKeys = [
      'Name',
      HybridActivationApi.MARKER_TAG_KEY,
      OWNER_TAG_KEY,
      ...Object.keys(defaultTags),
      ...allowedTags.map((t) => t.key),
    ];
    handler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'CreateMarkedActivations',
        actions: ['ssm:CreateActivation'],
        // CreateActivation supports no resource types; the tag conditions narrow what it may create.
        resources: ['*'],
        conditions: {
          'StringEquals': { [`aws:RequestTag/${HybridActivationApi.MARKER_TAG_KEY}`]: this.markerTagValue },
          'ForAllValues:StringEquals': { 'aws:TagKeys': requestTagKeys },
          ...pinnedTagValues(allowedTags, defaultTags),
        },
      }),
    );
    handler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PassInstanceRoleToSsm',
        actions: ['iam:PassRole'],
        resources: [this.instanceRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': SSM_SERVICE } },
      }),
    );
    if (this.nameConflictPolicy !== NameConflictPolicy.ALLOW_DUPLICATES || props.maxRegisteredNodes !== undefined) {
      handler.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'FindNodes', actions: ['ssm:DescribeInstanceInformation'], resources: ['*'] }),
      );
      // At most one unused activation per name (the caller's previous one is deleted), and unused activations count
      // toward the ceiling. Neither action has resource types; the handler deletes only activations with the marker.
      const replaces = this.nameConflictPolicy !== NameConflictPolicy.ALLOW_DUPLICATES;
      handler.role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'FindUnusedActivations',
        actions: replaces ? ['ssm:DescribeActivations', 'ssm:DeleteActivation'] : ['ssm:DescribeActivations'],
        resources: ['*'],
      }));
    }
    if (this.deregistersOnConflict) {
      handler.role.addToPrincipalPolicy(
        this.markedNodeStatement('DeregisterMarkedNodes', ['ssm:DeregisterManagedInstance'], 'ssm:resourceTag'),
      );
    }
    return handler;
  }

  private createTagHandler(
    props: HybridActivationApiProps,
    retention: logs.RetentionDays,
    allowedTags: AllowedTag[],
  ): HandlerFunction {
    const handler = new HandlerFunction(this, 'TagNode', {
      handlerName: 'tag-node',
      description: `Tags nodes registered through ${this.node.path} with allowed tags`,
      timeout: Duration.seconds(25),
      logRetention: retention,
      logEncryptionKey: props.logEncryptionKey,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: this.commonHandlerEnvironment(props, allowedTags),
    });
    handler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'FindNodes', actions: ['ssm:DescribeInstanceInformation'], resources: ['*'] }),
    );
    handler.role.addToPrincipalPolicy(
      this.markedNodeStatement('ReadMarkedNodeTags', ['ssm:ListTagsForResource'], 'aws:ResourceTag'),
    );
    const tagStatement = this.markedNodeStatement('TagMarkedNodes', ['ssm:AddTagsToResource'], 'aws:ResourceTag');
    tagStatement.addCondition('ForAllValues:StringEquals', { 'aws:TagKeys': allowedTags.map((t) => t.key) });
    const pinned = pinnedTagValues(allowedTags, {});
    if (pinned.StringEqualsIfExists) tagStatement.addCondition('StringEqualsIfExists', pinned.StringEqualsIfExists);
    handler.role.addToPrincipalPolicy(tagStatement);
    return handler;
  }

  /** Environment both API handlers read (docs/handler-contract.md). */
  private commonHandlerEnvironment(props: HybridActivationApiProps, allowedTags: AllowedTag[]): { [key: string]: string } {
    return {
      MARKER_TAG_KEY: HybridActivationApi.MARKER_TAG_KEY,
      MARKER_TAG_VALUE: this.markerTagValue,
      ALLOWED_TAGS: JSON.stringify(allowedTags.map((t) => (t.values ? { key: t.key, values: t.values } : { key: t.key }))),
      AUTHORIZATION: this.authorization,
      CALLER_BINDING: String(props.callerBinding ?? true),
      SSM_MAX_ATTEMPTS: '4',
      SSM_REQUEST_TIMEOUT_MS: '3000',
    };
  }

  private createRestApi(
    props: HybridActivationApiProps,
    stageName: string,
    rateLimit: number,
    burstLimit: number,
  ): apigateway.RestApi {
    const iamAuth = this.authorization === ActivationApiAuthorization.IAM;
    const policy = this.createResourcePolicy(props);
    const api = new apigateway.RestApi(this, 'Api', {
      restApiName: `${Stack.of(this).stackName}-${this.node.id}`.slice(0, 1024),
      description: `Hybrid activation API (${this.node.path})`,
      endpointConfiguration: props.vpcEndpoints
        ? { types: [apigateway.EndpointType.PRIVATE], vpcEndpoints: props.vpcEndpoints }
        : { types: [apigateway.EndpointType.REGIONAL] },
      policy,
      cloudWatchRole: props.apiGatewayCloudWatchRole ?? false,
      disableExecuteApiEndpoint: false,
      deployOptions: {
        stageName,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        // Never log bodies: responses carry activation codes.
        dataTraceEnabled: false,
        throttlingRateLimit: rateLimit,
        throttlingBurstLimit: burstLimit,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
      },
      defaultMethodOptions: iamAuth
        ? { authorizationType: apigateway.AuthorizationType.IAM }
        : { authorizationType: apigateway.AuthorizationType.NONE, apiKeyRequired: true },
    });
    if (policy) {
      // A changed resource policy only takes effect after a new deployment.
      api.latestDeployment?.addToLogicalId(Stack.of(this).resolve(policy.toJSON()));
    }

    const integration = new apigateway.LambdaIntegration(this.handler, { proxy: true, allowTestInvoke: false });
    api.root.addResource('activations').addMethod('POST', integration);
    api.root.addResource('activate').addMethod('GET', integration);
    if (this.tagHandler) {
      const tagIntegration = new apigateway.LambdaIntegration(this.tagHandler, { proxy: true, allowTestInvoke: false });
      api.root.addResource('instances').addResource('{instanceId}').addResource('tags').addMethod('PUT', tagIntegration);
    }
    // Only this account's API may invoke the handler (confused-deputy guard next to the SourceArn CDK sets).
    for (const child of api.node.findAll()) {
      if (child instanceof lambda.CfnPermission) child.sourceAccount = Stack.of(this).account;
    }
    return api;
  }

  private createResourcePolicy(props: HybridActivationApiProps): iam.PolicyDocument | undefined {
    if (!props.allowedSourceCidrs && !props.vpcEndpoints) return undefined;
    const invoke = ['execute-api:Invoke'];
    const anyMethod = ['execute-api:/*'];
    const statements = [
      // With IAM authorization the account principal defers to the callers' IAM policies (grantInvoke); with an API
      // key every caller that holds the key is allowed, and the denies below narrow both.
      new iam.PolicyStatement({
        actions: invoke,
        resources: anyMethod,
        principals: [
          this.authorization === ActivationApiAuthorization.IAM
            ? new iam.AccountRootPrincipal()
            : new iam.AnyPrincipal(),
        ],
      }),
    ];
    if (props.allowedSourceCidrs) {
      statements.push(
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          actions: invoke,
          resources: anyMethod,
          principals: [new iam.AnyPrincipal()],
          conditions: { NotIpAddress: { 'aws:SourceIp': props.allowedSourceCidrs } },
        }),
      );
    }
    if (props.vpcEndpoints) {
      statements.push(
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          actions: invoke,
          resources: anyMethod,
          principals: [new iam.AnyPrincipal()],
          conditions: { StringNotEquals: { 'aws:SourceVpce': props.vpcEndpoints.map((e) => e.vpcEndpointId) } },
        }),
      );
    }
    return new iam.PolicyDocument({ statements });
  }

  private createApiKey(): apigateway.IApiKey {
    const key = this.restApi.addApiKey('ApiKey', {
      description: `Key for machines that register through ${this.node.path}`,
    });
    const plan = this.restApi.addUsagePlan('UsagePlan', {
      description: `Usage plan of ${this.node.path}`,
      apiStages: [{ api: this.restApi, stage: this.restApi.deploymentStage }],
    });
    plan.addApiKey(key);
    return key;
  }
}

/**
 * `aws:RequestTag/<key>` conditions for the allowed tags whose values are restricted, so IAM refuses other values
 * even if the handler's own check were bypassed. `IfExists`: a request that does not set the key stays allowed. A
 * default tag of the same key keeps its value allowed (it applies when the caller does not set the key).
 */
function pinnedTagValues(
  allowedTags: AllowedTag[],
  defaultTags: { [key: string]: string },
): { StringEqualsIfExists?: { [key: string]: string[] } } {
  const pinned: { [key: string]: string[] } = {};
  for (const rule of allowedTags) {
    if (rule.values === undefined) continue;
    const values = [...rule.values];
    const fallback = defaultTags[rule.key];
    if (fallback !== undefined && !values.includes(fallback)) values.push(fallback);
    pinned[`aws:RequestTag/${rule.key}`] = values;
  }
  return Object.keys(pinned).length > 0 ? { StringEqualsIfExists: pinned } : {};
}

function isCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const bits = Number(prefix);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    return bits <= 32 && address.split('.').every((octet) => Number(octet) <= 255);
  }
  return address.includes(':') && /^[0-9a-fA-F:]+$/.test(address) && bits <= 128;
}
