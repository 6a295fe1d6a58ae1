import { Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  ActivationApiAuthorization,
  BootScriptPlatform,
  HybridActivationApi,
  HybridActivationApiProps,
  NameConflictPolicy,
} from '../../lib';
import { allFindings, testApp } from '../support/gates';
import { customerKey } from '../support/kms';
import { resourceOf } from '../support/template';

let stack: Stack;
beforeEach(() => {
  stack = new Stack(testApp(), 'TestStack');
});

function build(props?: HybridActivationApiProps): { api: HybridActivationApi; template: Template } {
  const api = new HybridActivationApi(stack, 'Activations', props);
  return { api, template: Template.fromStack(stack) };
}

/** The create-activation function's environment (the only one with an activation lifetime). */
function handlerEnv(template: Template): Record<string, unknown> {
  const fns = template.findResources('AWS::Lambda::Function', {
    Properties: { Environment: { Variables: Match.objectLike({ ACTIVATION_LIFETIME_SECONDS: Match.anyValue() }) } },
  });
  expect(Object.keys(fns)).toHaveLength(1);
  const [fn] = Object.values(fns);
  return (fn as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
}

describe('HybridActivationApi defaults', () => {
  test('one line defines a REST API with IAM authorization on both methods', () => {
    const { template } = build();
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
    template.resourceCountIs('AWS::ApiGateway::Method', 2);
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', AuthorizationType: 'AWS_IAM' });
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'GET', AuthorizationType: 'AWS_IAM' });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'activations' });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'activate' });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  test('every method requires authorization', () => {
    const { template } = build({ authorization: ActivationApiAuthorization.API_KEY });
    for (const method of Object.values(template.findResources('AWS::ApiGateway::Method'))) {
      const props = (method as { Properties: { AuthorizationType: string; ApiKeyRequired?: boolean } }).Properties;
      expect(props.AuthorizationType === 'AWS_IAM' || props.ApiKeyRequired === true).toBe(true);
    }
  });

  test('the stage is throttled, traced, logs errors only and writes JSON access logs kept one year', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"caller":"\\$context.identity.caller"') },
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 10,
          ThrottlingBurstLimit: 20,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        }),
      ],
    });
    // Access logs, the activation handler and the janitor.
    template.resourceCountIs('AWS::Logs::LogGroup', 3);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  test('the handler is the prebundled asset on the pinned runtime, traced, with its own log group', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Timeout: 25,
      MemorySize: 256,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: Match.anyValue() },
    });
  });

  test('the handler environment carries the role name, lifetime, marker, tags and authorization', () => {
    const { api, template } = build();
    const env = handlerEnv(template);
    expect(env).toMatchObject({
      ACTIVATION_LIFETIME_SECONDS: '3600',
      MARKER_TAG_KEY: 'hybrid-fleet:activation-api',
      MARKER_TAG_VALUE: api.markerTagValue,
      DEFAULT_TAGS: '{}',
      ALLOWED_TAGS: '[]',
      AUTHORIZATION: 'IAM',
      CALLER_BINDING: 'true',
    });
    // The role *name*, not its ARN.
    expect(env.INSTANCE_ROLE_NAME).toEqual({ Ref: expect.stringMatching(/^ActivationsInstanceRole/) });
  });

  test('the instance role trusts ssm.amazonaws.com with source conditions and carries AmazonSSMManagedInstanceCore', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'ssm.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          },
        ],
      },
      ManagedPolicyArns: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']] },
      ],
    });
  });

  test('nodeParameterPaths: a managed policy on the instance role denies parameter reads outside the paths, and passes the gates', () => {
    const { api, template } = build({ nodeParameterPaths: ['/fleet/', '/aws/service'] });
    const param = (name: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, `:*:parameter/${name}`]] });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ActivationsInstanceRole') }],
      PolicyDocument: {
        Statement: [
          {
            Sid: 'DenyParametersOutsideAllowedPaths',
            Effect: 'Deny',
            Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
            NotResource: [param('fleet'), param('fleet/*'), param('aws/service'), param('aws/service/*')],
          },
        ],
      },
    });
    expect(resourceOf(Template.fromStack(stack), api, api.nodeParameterPolicy!.managedPolicyArn)).toMatchObject({
      Type: 'AWS::IAM::ManagedPolicy',
      Properties: { PolicyDocument: { Statement: [expect.objectContaining({ Effect: 'Deny', Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'] })] } },
    });
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });

  test('nodeParameterPaths: [] denies every parameter read; without it nothing is denied (opt-in)', () => {
    const { template } = build({ nodeParameterPaths: [] });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [{ Sid: 'DenyAllParameters', Effect: 'Deny', Action: Match.anyValue(), Resource: '*' }],
      },
    });
    stack = new Stack(testApp(), 'Other');
    const { api, template: plain } = build();
    expect(api.nodeParameterPolicy).toBeUndefined();
    expect(JSON.stringify(plain.toJSON())).not.toContain('ssm:GetParameter');
  });

  test('the handler may create only marked activations and pass only the instance role, only to SSM', () => {
    const { template } = build({ defaultTags: { PatchGroup: 'web' }, allowedTags: [{ key: 'Team' }] });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'CreateMarkedActivations',
            Effect: 'Allow',
            Action: 'ssm:CreateActivation',
            Resource: '*',
            Condition: {
              'StringEquals': { 'aws:RequestTag/hybrid-fleet:activation-api': Match.anyValue() },
              'ForAllValues:StringEquals': { 'aws:TagKeys': ['Name', 'hybrid-fleet:activation-api', 'hybrid-fleet:owner', 'PatchGroup', 'Team'] },
            },
          },
          {
            Sid: 'PassInstanceRoleToSsm',
            Effect: 'Allow',
            Action: 'iam:PassRole',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ActivationsInstanceRole'), 'Arn'] },
            Condition: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } },
          },
        ]),
      },
    });
    // No PassRole on a wildcard anywhere.
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      const statements = (policy as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } })
        .Properties.PolicyDocument.Statement;
      for (const st of statements) {
        const actions = ([] as unknown[]).concat(st.Action);
        if (actions.includes('iam:PassRole')) expect(st.Resource).not.toEqual('*');
      }
    }
  });

  test('restricted allowedTags values are pinned in the CreateActivation conditions, with the default of the same key', () => {
    const { template } = build({
      defaultTags: { PatchMode: 'report', PatchGroup: 'web' },
      allowedTags: [{ key: 'PatchMode', values: ['enforce'] }, { key: 'Team' }],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'CreateMarkedActivations',
            Condition: {
              'StringEquals': { 'aws:RequestTag/hybrid-fleet:activation-api': Match.anyValue() },
              'ForAllValues:StringEquals': { 'aws:TagKeys': Match.anyValue() },
              // Team is unrestricted; PatchMode may be what the caller may choose, or the default.
              'StringEqualsIfExists': { 'aws:RequestTag/PatchMode': ['enforce', 'report'] },
            },
          }),
        ]),
      },
    });
  });

  test('only this account may invoke the handler through API Gateway', () => {
    const { template } = build();
    const permissions = template.findResources('AWS::Lambda::Permission', { Properties: { Principal: 'apigateway.amazonaws.com' } });
    expect(Object.keys(permissions)).toHaveLength(2);
    for (const permission of Object.values(permissions)) {
      expect((permission as { Properties: unknown }).Properties).toMatchObject({
        Principal: 'apigateway.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
        SourceArn: expect.anything(),
      });
    }
  });

  test('a 5xx alarm is created without actions', () => {
    const { api, template } = build();
    expect(resourceOf(template, api, api.serverErrorAlarm!.alarmArn)).toMatchObject({ Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: '5XXError' } });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5XXError',
      Namespace: 'AWS/ApiGateway',
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: Match.absent(),
    });
  });

  test('passes every gate with zero unacknowledged findings', () => {
    build();
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });

  test('exposes url, REST API, handler, instance role and access logs', () => {
    const { api, template } = build();
    expect(stack.resolve(api.url)).toEqual(stack.resolve(api.restApi.url));
    expect(resourceOf(template, api, api.restApi.restApiId).Type).toBe('AWS::ApiGateway::RestApi');
    expect(resourceOf(template, api, api.handler.functionArn).Properties?.Environment.Variables).toEqual(handlerEnv(template));
    expect(resourceOf(template, api, api.instanceRole.roleName)).toMatchObject({
      Type: 'AWS::IAM::Role',
      Properties: { AssumeRolePolicyDocument: { Statement: [expect.objectContaining({ Principal: { Service: 'ssm.amazonaws.com' } })] } },
    });
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    expect(stage.Properties.AccessLogSetting.DestinationArn).toEqual(stack.resolve(api.accessLogGroup.logGroupArn));
    expect(api.apiKey).toBeUndefined();
  });
});

describe('HybridActivationApi overrides', () => {
  test('activationLifetime sets the per-request lifetime', () => {
    const { template } = build({ activationLifetime: Duration.minutes(30) });
    expect(handlerEnv(template).ACTIVATION_LIFETIME_SECONDS).toBe('1800');
  });

  test('defaultTags and allowedTags reach the handler', () => {
    const { template } = build({
      defaultTags: { PatchGroup: 'linux-web', PatchMode: 'report' },
      allowedTags: [{ key: 'PatchMode', values: ['report', 'enforce'] }, { key: 'Team' }],
    });
    const env = handlerEnv(template);
    expect(JSON.parse(env.DEFAULT_TAGS as string)).toEqual({ PatchGroup: 'linux-web', PatchMode: 'report' });
    expect(JSON.parse(env.ALLOWED_TAGS as string)).toEqual([
      { key: 'PatchMode', values: ['report', 'enforce'] },
      { key: 'Team' },
    ]);
  });

  test('callerBinding: false turns binding off', () => {
    const { template } = build({ callerBinding: false });
    expect(handlerEnv(template).CALLER_BINDING).toBe('false');
  });

  test('API_KEY authorization requires a key on every method, with a usage plan', () => {
    const { api, template } = build({ authorization: ActivationApiAuthorization.API_KEY });
    expect(resourceOf(template, api, api.apiKey!.keyId).Type).toBe('AWS::ApiGateway::ApiKey');
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', AuthorizationType: 'NONE', ApiKeyRequired: true });
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'GET', AuthorizationType: 'NONE', ApiKeyRequired: true });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', 1);
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
    expect(handlerEnv(template).AUTHORIZATION).toBe('API_KEY');
    // The key value is generated by API Gateway, never placed in the template.
    template.hasResourceProperties('AWS::ApiGateway::ApiKey', { Value: Match.absent() });
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });

  test('allowedSourceCidrs denies other sources and defers to IAM policies with IAM authorization', () => {
    const { template } = build({ allowedSourceCidrs: ['203.0.113.0/24', '2001:db8::/32'] });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Policy: {
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
            Resource: 'execute-api:/*',
          },
          {
            Action: 'execute-api:Invoke',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Resource: 'execute-api:/*',
            Condition: { NotIpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:db8::/32'] } },
          },
        ],
      },
    });
  });

  test('a changed resource policy forces a new deployment', () => {
    const logicalIdOf = (cidr: string) => {
      const s = new Stack(testApp(), 'S');
      new HybridActivationApi(s, 'Activations', { allowedSourceCidrs: [cidr] });
      return Object.keys(Template.fromStack(s).findResources('AWS::ApiGateway::Deployment'))[0];
    };
    expect(logicalIdOf('203.0.113.0/24')).not.toEqual(logicalIdOf('198.51.100.0/24'));
  });

  test('API key mode with allowedSourceCidrs allows key holders from the allowed sources only', () => {
    const { template } = build({ authorization: ActivationApiAuthorization.API_KEY, allowedSourceCidrs: ['203.0.113.0/24'] });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Policy: {
        Statement: [
          Match.objectLike({ Effect: 'Allow', Principal: { AWS: '*' } }),
          Match.objectLike({ Effect: 'Deny', Condition: { NotIpAddress: { 'aws:SourceIp': ['203.0.113.0/24'] } } }),
        ],
      },
    });
  });

  test('vpcEndpoints make the API private and reachable only through those endpoints', () => {
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 1,
      natGateways: 0,
      subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    const endpoint = vpc.addInterfaceEndpoint('ExecuteApi', { service: ec2.InterfaceVpcEndpointAwsService.APIGATEWAY });
    const api = new HybridActivationApi(stack, 'Activations', { vpcEndpoints: [endpoint] });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['PRIVATE'], VpcEndpointIds: [{ Ref: Match.stringLikeRegexp('ExecuteApi') }] },
      Policy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { StringNotEquals: { 'aws:SourceVpce': [{ Ref: Match.stringLikeRegexp('ExecuteApi') }] } },
          }),
        ]),
      },
    });
    expect(resourceOf(Template.fromStack(stack), api, api.restApi.restApiId)).toMatchObject({ Properties: { EndpointConfiguration: { Types: ['PRIVATE'] } } });
  });

  test('throttling limits and stage name are configurable', () => {
    const { template } = build({ throttlingRateLimit: 2.5, throttlingBurstLimit: 5, stageName: 'prod' });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 2.5, ThrottlingBurstLimit: 5 })],
    });
  });

  test('logRetention and logEncryptionKey apply to every log group', () => {
    const key = customerKey(stack, 'LogKey');
    key.grantEncryptDecrypt(new iam.ServicePrincipal('logs.amazonaws.com'));
    const { template } = build({ logRetention: logs.RetentionDays.TWO_YEARS, logEncryptionKey: key });
    template.allResourcesProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 731,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogKey'), 'Arn'] },
    });
  });

  test('with every optional safeguard set, no acknowledgement is needed for them', () => {
    const key = customerKey(stack, 'LogKey');
    const topic = new sns.Topic(stack, 'Alarms', { enforceSSL: true, masterKey: key });
    build({
      logEncryptionKey: key,
      webAclArn: 'arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/activations/0123',
      reservedConcurrentExecutions: 5,
      alarmAction: new cwActions.SnsAction(topic),
    });
    const api = stack.node.findChild('Activations');
    const acknowledged = api.node
      .findAll()
      // The janitor has its own reasons (a scheduled, idempotent run); see the janitor tests.
      .filter((c) => !c.node.path.includes('/Janitor'))
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.keys(m.data as object));
    for (const rule of ['LambdaConcurrency', 'CloudWatchLogGroupEncrypted', 'APIGWAssociatedWithWAF', 'CloudWatchAlarmAction', 'AwsSolutions-APIG3']) {
      expect(acknowledged.filter((id) => id.includes(rule))).toEqual([]);
    }
  });

  test('webAclArn associates the web ACL with the stage', () => {
    const { template } = build({ webAclArn: 'arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/activations/0123' });
    template.hasResource('AWS::WAFv2::WebACLAssociation', {
      Properties: {
        WebACLArn: 'arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/activations/0123',
        ResourceArn: Match.anyValue(),
      },
      DependsOn: Match.arrayWith([Match.stringLikeRegexp('Stage')]),
    });
  });

  test('apiGatewayCloudWatchRole: true opts into the account-wide logging role', () => {
    const { template } = build({ apiGatewayCloudWatchRole: true });
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  test('reservedConcurrentExecutions reserves concurrency', () => {
    const { template } = build({ reservedConcurrentExecutions: 5 });
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 5 });
  });

  test('serverErrorAlarm: false creates no alarm; alarmAction wires an action', () => {
    const { api, template } = build({ serverErrorAlarm: false });
    expect(api.serverErrorAlarm).toBeUndefined();
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: '5XXError' }, 0);

    const other = new Stack(testApp(), 'Other');
    const topic = new sns.Topic(other, 'Alarms');
    new HybridActivationApi(other, 'Activations', { alarmAction: new cwActions.SnsAction(topic) });
    Template.fromStack(other).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
    });
  });

  test('a bring-your-own instance role is used by name and is the only role passed', () => {
    const role = iam.Role.fromRoleName(stack, 'Existing', 'HybridNodeRole');
    const { api, template } = build({ instanceRole: role });
    expect(api.instanceRole).toBe(role);
    expect(handlerEnv(template).INSTANCE_ROLE_NAME).toBe('HybridNodeRole');
    template.resourcePropertiesCountIs('AWS::IAM::Role', { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'ssm.amazonaws.com' } })] } }, 0);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'iam:PassRole',
            Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/HybridNodeRole']] },
          }),
        ]),
      },
    });
  });
});

describe('HybridActivationApi grants, metrics and boot scripts', () => {
  test('grantInvoke allows execute-api:Invoke on the two methods of the stage only', () => {
    const api = new HybridActivationApi(stack, 'Activations');
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    api.grantInvoke(role);
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Caller') }] },
    });
    const statement = (Object.values(policies)[0] as { Properties: { PolicyDocument: { Statement: { Action: string; Resource: unknown[] }[] } } })
      .Properties.PolicyDocument.Statement[0];
    expect(statement.Action).toBe('execute-api:Invoke');
    const arns = JSON.stringify(statement.Resource);
    expect(statement.Resource).toHaveLength(2);
    expect(arns).toContain('/POST/activations');
    expect(arns).toContain('/GET/activate');
    expect(arns).not.toContain('/*/*');
  });

  test('metric helpers read the API Gateway stage metrics', () => {
    const { api } = build();
    const server = stack.resolve(api.metricServerErrors());
    expect(server).toMatchObject({ namespace: 'AWS/ApiGateway', metricName: '5XXError', statistic: 'Sum' });
    expect(stack.resolve(api.metricClientErrors()).metricName).toBe('4XXError');
    expect(stack.resolve(api.metricRequests()).metricName).toBe('Count');
    expect(stack.resolve(api.metricLatency())).toMatchObject({ metricName: 'Latency', statistic: 'p99' });
    expect(stack.resolve(api.metricHandlerErrors())).toMatchObject({ namespace: 'AWS/Lambda', metricName: 'Errors' });
    expect(api.metricServerErrors({ period: Duration.minutes(1) }).period.toSeconds()).toBe(60);
    expect(api.metricServerErrors()).toBeInstanceOf(cloudwatch.Metric);
  });

  test('renderBootScript bakes in the API URL and authentication mode', () => {
    const { api } = build();
    const linux = stack.resolve(api.renderBootScript(BootScriptPlatform.LINUX));
    const rendered = JSON.stringify(linux);
    expect(rendered).not.toContain('@@ACTIVATION_API_URL@@');
    expect(rendered).not.toContain('@@ACTIVATION_AUTH@@');
    expect(rendered).toContain('execute-api');
    expect(rendered).toMatch(/^\{"Fn::Join":\["",\["#!\/usr\/bin\/env bash/);
    const windows = JSON.stringify(stack.resolve(api.renderBootScript(BootScriptPlatform.WINDOWS)));
    expect(windows).not.toContain('@@ACTIVATION_API_URL@@');
  });

  test('API key mode renders api-key scripts without the key', () => {
    const { api } = build({ authorization: ActivationApiAuthorization.API_KEY });
    const rendered = JSON.stringify(stack.resolve(api.renderBootScript(BootScriptPlatform.LINUX)));
    expect(rendered).toContain('api-key');
    expect(rendered).not.toContain(JSON.stringify(stack.resolve(api.apiKey!.keyId)));
  });

  test('userData wraps the rendered script for Linux and Windows', () => {
    const { api } = build();
    const linux = JSON.stringify(stack.resolve(api.userData(BootScriptPlatform.LINUX).render()));
    expect(linux).toContain('execute-api');
    // Linux: written to a file through a quoted heredoc whose end marker the script never contains, then run.
    expect(linux).toContain("cat > /usr/local/sbin/register-node.sh <<'HYBRID_FLEET_REGISTER_NODE_EOF'");
    expect(linux.split('HYBRID_FLEET_REGISTER_NODE_EOF')).toHaveLength(3);
    expect(linux).toMatch(/chmod 0700 \/usr\/local\/sbin\/register-node.sh\\n\/usr\/local\/sbin\/register-node.sh"/);
    const windows = JSON.stringify(stack.resolve(api.userData(BootScriptPlatform.WINDOWS).render()));
    expect(windows).toMatch(/^"<powershell>|^\{"Fn::Join":\["",\["<powershell>/);
  });
});

describe('HybridActivationApi validation', () => {
  test.each([
    [{ activationLifetime: Duration.seconds(30) }, /`activationLifetime` must be a whole number of seconds from 1 minute to 30 days, got: 30 seconds/],
    [{ activationLifetime: Duration.days(31) }, /`activationLifetime` .* got: 31 days/],
    [{ activationLifetime: Duration.millis(90500) }, /`activationLifetime` must be a whole number of seconds/],
    [{ throttlingRateLimit: 0 }, /`throttlingRateLimit` must be greater than 0 .* got: 0/],
    [{ throttlingRateLimit: 20000 }, /`throttlingRateLimit` .* got: 20000/],
    [{ throttlingBurstLimit: 0 }, /`throttlingBurstLimit` must be an integer from 1 to 5000, got: 0/],
    [{ throttlingBurstLimit: 1.5 }, /`throttlingBurstLimit` must be an integer from 1 to 5000, got: 1.5/],
    [{ reservedConcurrentExecutions: 0 }, /`reservedConcurrentExecutions` must be an integer from 1 to 1000, got: 0/],
    [{ stageName: 'my-stage' }, /`stageName` may contain only letters, numbers and underscores .* got: 'my-stage'/],
    [{ allowedSourceCidrs: ['203.0.113.0'] }, /`allowedSourceCidrs` entries must be IPv4 or IPv6 CIDR blocks .* got: '203.0.113.0'/],
    [{ allowedSourceCidrs: ['300.0.113.0/24'] }, /`allowedSourceCidrs` .* got: '300.0.113.0\/24'/],
    [{ allowedSourceCidrs: ['10.0.0.0/33'] }, /`allowedSourceCidrs` .* got: '10.0.0.0\/33'/],
    [{ allowedSourceCidrs: [] }, /`allowedSourceCidrs` must list at least one CIDR block .* got: \[\]/],
    [{ vpcEndpoints: [] }, /`vpcEndpoints` must list at least one interface VPC endpoint .* got: \[\]/],
    [{ defaultTags: { 'Patch+Group': 'a' } }, /`defaultTags` tag keys must not contain '\+' .* got: 'Patch\+Group'/],
    [{ defaultTags: { 'aws:owner': 'a' } }, /`defaultTags` tag keys must not start with the reserved prefix 'aws:', got: 'aws:owner'/],
    [{ defaultTags: { 'Bad#Key': 'a' } }, /`defaultTags` tag keys may contain only letters, numbers, spaces .* got: 'Bad#Key'/],
    [{ defaultTags: { ['k'.repeat(129)]: 'a' } }, /`defaultTags` tag keys must be 1 to 128 characters long/],
    [{ defaultTags: { '': 'a' } }, /`defaultTags` tag keys must be 1 to 128 characters long, got: ''/],
    [{ defaultTags: { Team: 'v'.repeat(257) } }, /`defaultTags` tag values must be at most 256 characters long, got 257 for key 'Team'/],
    [{ defaultTags: { Team: 'a&b' } }, /`defaultTags` tag values may contain only .* got: 'a&b' for key 'Team'/],
    [{ defaultTags: { Name: 'x' } }, /`defaultTags` must not set 'Name': the API sets it itself/],
    [{ defaultTags: { 'hybrid-fleet:activation-api': 'x' } }, /`defaultTags` must not set 'hybrid-fleet:activation-api'/],
    [{ allowedTags: [{ key: 'Name' }] }, /`allowedTags` must not allow 'Name'/],
    [{ allowedTags: [{ key: 'Team+X' }] }, /`allowedTags` tag keys must not contain '\+'/],
    [{ allowedTags: [{ key: 'Team' }, { key: 'Team' }] }, /`allowedTags` lists the key 'Team' twice/],
    [{ allowedTags: [{ key: 'Team', values: [] }] }, /`allowedTags` entry 'Team' must list at least one value/],
    [{ nodeParameterPaths: ['fleet/'] }, /`nodeParameterPaths` entries must be parameter hierarchy paths .* got: 'fleet\/'/],
    [{ nodeParameterPaths: ['/fleet/*'] }, /`nodeParameterPaths` entries must be parameter hierarchy paths .* got: '\/fleet\/\*'/],
    [{ nodeParameterPaths: Array.from({ length: 21 }, (_, i) => `/p${i}/`) }, /`nodeParameterPaths` must list at most 20 paths, got: 21/],
    [{ allowedTags: [{ key: 'Team', values: ['a|b'] }] }, /`allowedTags` tag values may contain only .* got: 'a\|b' for key 'Team'/],
    [
      { defaultTags: Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`k${i}`, 'v'])) },
      /`defaultTags` may hold at most 47 tags .* got: 48/,
    ],
    [{ defaultTags: { 'hybrid-fleet:owner': 'x' } }, /`defaultTags` must not set 'hybrid-fleet:owner'/],
    [{ allowedTags: [{ key: 'hybrid-fleet:owner' }] }, /`allowedTags` must not allow 'hybrid-fleet:owner'/],
    [{ callerNameRules: [{ caller: 'ops-team', names: 'web-*' }] }, /`callerNameRules` caller must be an IAM ARN or apiKey:<id>, either may use \*, got: 'ops-team'/],
    [{ callerNameRules: [{ caller: 'apiKey:*', names: 'web#*' }] }, /`callerNameRules` names must be 1 to 256 characters of .* got: 'web#\*'/],
    [{ callerNameRules: [{ caller: 'apiKey:*', names: '' }] }, /`callerNameRules` names must be 1 to 256 characters/],
  ] as [HybridActivationApiProps, RegExp][])('rejects %j', (props, message) => {
    expect(() => new HybridActivationApi(stack, 'Activations', props)).toThrow(message);
  });

  test('errors name the construct path', () => {
    expect(() => new HybridActivationApi(stack, 'Activations', { stageName: 'a-b' })).toThrow(/\(at TestStack\/Activations\)$/);
  });

  test('a bring-your-own role name over 64 characters is rejected', () => {
    const role = iam.Role.fromRoleName(stack, 'Long', 'r'.repeat(65));
    expect(() => new HybridActivationApi(stack, 'Activations', { instanceRole: role })).toThrow(
      /`instanceRole` name must be at most 64 characters/,
    );
  });

  test('47 default tags are accepted (Name, marker and owner take 3 of 50)', () => {
    expect(
      () =>
        new HybridActivationApi(stack, 'Activations', {
          defaultTags: Object.fromEntries(Array.from({ length: 47 }, (_, i) => [`k${i}`, 'v'])),
        }),
    ).not.toThrow();
  });

  test('tokens are not validated at synth time', () => {
    const token = Lazy.number({ produce: () => 0 });
    const stringToken = Lazy.string({ produce: () => 'not/a/cidr' });
    expect(
      () =>
        new HybridActivationApi(stack, 'Activations', {
          throttlingBurstLimit: token,
          throttlingRateLimit: token,
          allowedSourceCidrs: [stringToken],
          defaultTags: { Team: stringToken },
          instanceRole: iam.Role.fromRoleName(stack, 'R', stringToken),
        }),
    ).not.toThrow();
  });

  test('a lifetime over one day is accepted with a warning', () => {
    new HybridActivationApi(stack, 'Activations', { activationLifetime: Duration.days(7) });
    Annotations.fromStack(stack).hasWarning(
      '/TestStack/Activations',
      Match.stringLikeRegexp('`activationLifetime` of 7 days keeps unused activation codes valid for long'),
    );
  });

  test('30 days is the longest lifetime accepted', () => {
    expect(() => new HybridActivationApi(stack, 'Activations', { activationLifetime: Duration.days(30) })).not.toThrow();
  });
});

describe('HybridActivationApi lifecycle', () => {
  function policyStatementsOf(template: Template, roleLogicalIdPrefix: RegExp): { Sid?: string; Action: unknown; Resource: unknown; Condition?: unknown }[] {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      ((p as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles ?? []).some((r) => roleLogicalIdPrefix.test(r.Ref)));
    return policies.flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: never[] } } }).Properties.PolicyDocument.Statement);
  }

  test('by default offline nodes of the same name are replaced: find + deregister only marked nodes', () => {
    const { api, template } = build();
    expect(api.nameConflictPolicy).toBe(NameConflictPolicy.REPLACE_OFFLINE);
    expect(handlerEnv(template)).toMatchObject({ NAME_CONFLICT_POLICY: 'REPLACE_OFFLINE', MAX_REGISTERED_NODES: '0' });
    const statements = policyStatementsOf(template, /^ActivationsCreateActivationRole/);
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({ Sid: 'FindNodes', Action: 'ssm:DescribeInstanceInformation', Resource: '*' }),
      expect.objectContaining({
        Sid: 'DeregisterMarkedNodes',
        Action: 'ssm:DeregisterManagedInstance',
        Condition: { StringEquals: { 'ssm:resourceTag/hybrid-fleet:activation-api': api.markerTagValue } },
      }),
    ]));
  });

  test.each([
    [NameConflictPolicy.REJECT_IF_ONLINE, true, false],
    [NameConflictPolicy.ALWAYS_REPLACE, true, true],
    [NameConflictPolicy.ALLOW_DUPLICATES, false, false],
  ])('nameConflictPolicy %s grants describe=%s deregister=%s', (policy, describe, deregister) => {
    const { template } = build({ nameConflictPolicy: policy });
    expect(handlerEnv(template).NAME_CONFLICT_POLICY).toBe(policy);
    const sids = policyStatementsOf(template, /^ActivationsCreateActivationRole/).map((s) => s.Sid);
    expect(sids.includes('FindNodes')).toBe(describe);
    expect(sids.includes('DeregisterMarkedNodes')).toBe(deregister);
  });

  test('maxRegisteredNodes sets the ceiling and needs node lookups even when duplicates are allowed', () => {
    const { template } = build({ nameConflictPolicy: NameConflictPolicy.ALLOW_DUPLICATES, maxRegisteredNodes: 900 });
    expect(handlerEnv(template).MAX_REGISTERED_NODES).toBe('900');
    const statements = policyStatementsOf(template, /^ActivationsCreateActivationRole/);
    expect(statements.map((s) => s.Sid)).toContain('FindNodes');
    // Unused activations count toward the ceiling; with duplicates allowed none is deleted.
    expect(statements.find((s) => s.Sid === 'FindUnusedActivations')).toMatchObject({ Action: 'ssm:DescribeActivations', Resource: '*' });
  });

  test('by default the handler may find and delete unused activations (no resource types) and callerNameRules reach it', () => {
    const rules = [{ caller: 'arn:aws:sts::111122223333:assumed-role/DataCentre1/*', names: 'dc1-*' }];
    const { template } = build({ callerNameRules: rules });
    expect(JSON.parse(handlerEnv(template).CALLER_NAME_RULES as string)).toEqual(rules);
    expect(policyStatementsOf(template, /^ActivationsCreateActivationRole/).find((s) => s.Sid === 'FindUnusedActivations')).toMatchObject({
      Action: ['ssm:DescribeActivations', 'ssm:DeleteActivation'],
      Resource: '*',
    });
  });

  test('without allowedTags there is no tagging route and no tagging function', () => {
    const { api, template } = build();
    expect(api.tagHandler).toBeUndefined();
    template.resourcePropertiesCountIs('AWS::ApiGateway::Resource', { PathPart: 'instances' }, 0);
    template.resourcePropertiesCountIs('AWS::ApiGateway::Method', { HttpMethod: 'PUT' }, 0);
  });

  test('with allowedTags, PUT /instances/{instanceId}/tags is an authorized route to a function that may tag only marked nodes with allowed keys', () => {
    const { api, template } = build({ allowedTags: [{ key: 'Team' }, { key: 'PatchMode', values: ['report', 'enforce'] }] });
    expect(resourceOf(template, api, api.tagHandler!.functionArn).Properties?.Description).toMatch(/^Tags nodes/);
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{instanceId}' });
    template.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'PUT', AuthorizationType: 'AWS_IAM' });
    const tagFns = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: Match.objectLike({ ALLOWED_TAGS: Match.anyValue() }) }, Description: Match.stringLikeRegexp('^Tags nodes') },
    });
    const env = (Object.values(tagFns)[0] as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties.Environment.Variables;
    expect(env).toMatchObject({ MARKER_TAG_KEY: 'hybrid-fleet:activation-api', MARKER_TAG_VALUE: api.markerTagValue, AUTHORIZATION: 'IAM', CALLER_BINDING: 'true' });
    expect(env.INSTANCE_ROLE_NAME).toBeUndefined();
    const statements = policyStatementsOf(template, /^ActivationsTagNodeRole/);
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({ Sid: 'FindNodes', Action: 'ssm:DescribeInstanceInformation', Resource: '*' }),
      expect.objectContaining({
        Sid: 'ReadMarkedNodeTags',
        Action: 'ssm:ListTagsForResource',
        Condition: { StringEquals: { 'aws:ResourceTag/hybrid-fleet:activation-api': api.markerTagValue } },
      }),
      expect.objectContaining({
        Sid: 'TagMarkedNodes',
        Action: 'ssm:AddTagsToResource',
        Condition: {
          'StringEquals': { 'aws:ResourceTag/hybrid-fleet:activation-api': api.markerTagValue },
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['Team', 'PatchMode'] },
          // The restricted values are pinned in IAM too, not only in the handler.
          'StringEqualsIfExists': { 'aws:RequestTag/PatchMode': ['report', 'enforce'] },
        },
      }),
    ]));
    // The activation handler never gets AddTagsToResource.
    expect(JSON.stringify(policyStatementsOf(template, /^ActivationsCreateActivationRole/))).not.toContain('AddTagsToResource');
  });

  test('grantInvoke and invokeManagedPolicy include the tagging route when tags are allowed', () => {
    const api = new HybridActivationApi(stack, 'Activations', { allowedTags: [{ key: 'Team' }] });
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    api.grantInvoke(role);
    const policy = api.invokeManagedPolicy();
    expect(api.invokeManagedPolicy()).toBe(policy);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'execute-api:Invoke', Resource: Match.arrayWith([Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['/PUT/instances/*/tags'])] })]) })] },
    });
    const inline = JSON.stringify(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Caller') }] } }));
    expect(inline).toContain('/PUT/instances/*/tags');
    // The node-id wildcard of the tagging route is acknowledged with its reason on both; the inline policy of the
    // caller's own role (IAMNoInlinePolicy) is the caller's choice and stays reported.
    const findings = allFindings(stack.node.root as never);
    expect(findings.filter((f) => f.rule.startsWith('AwsSolutions-IAM5'))).toEqual([]);
    expect(findings.map((f) => f.rule).sort()).toEqual(['HIPAA.Security-IAMNoInlinePolicy', 'NIST.800.53.R5-IAMNoInlinePolicy']);
  });

  test('the janitor is on by default and takes the lifecycle props', () => {
    const { api, template } = build({
      deregisterOfflineAfter: Duration.days(3),
      maxDeregistrationsPerRun: 20,
      janitorDryRun: true,
      janitorSchedule: events.Schedule.rate(Duration.minutes(30)),
    });
    expect(resourceOf(template, api, api.janitor!.handler.functionArn).Properties?.Environment.Variables).toMatchObject({ DRY_RUN: 'true', MAX_DEREGISTRATIONS_PER_RUN: '20' });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(30 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          MARKER_TAG_VALUE: api.markerTagValue,
          DEREGISTER_OFFLINE_AFTER_SECONDS: String(3 * 86400),
          MAX_DEREGISTRATIONS_PER_RUN: '20',
          DRY_RUN: 'true',
        }),
      },
    });
  });

  test('janitor: false removes it, and its options are then refused', () => {
    const { api, template } = build({ janitor: false });
    expect(api.janitor).toBeUndefined();
    template.resourceCountIs('AWS::Events::Rule', 0);
    const other = new Stack(testApp(), 'Other');
    expect(() => new HybridActivationApi(other, 'Activations', { janitor: false, deregisterOfflineAfter: Duration.days(1) })).toThrow(
      /`deregisterOfflineAfter`, `maxDeregistrationsPerRun`, `janitorSchedule` and `janitorDryRun` need the janitor/,
    );
  });

  test('alarmAction applies to the 5xx alarm and the janitor alarm', () => {
    const topic = new sns.Topic(stack, 'Alarms');
    const { template } = build({ alarmAction: new cwActions.SnsAction(topic) });
    // The 5xx alarm and the janitor's three (run errors, function errors, duration near the timeout).
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }] }, 4);
  });

  test('every lifecycle option on still passes every gate (API key mode too)', () => {
    build({
      authorization: ActivationApiAuthorization.API_KEY,
      allowedTags: [{ key: 'Team' }],
      nameConflictPolicy: NameConflictPolicy.ALWAYS_REPLACE,
      maxRegisteredNodes: 500,
      deregisterOfflineAfter: Duration.days(7),
    });
    expect(allFindings(stack.node.root as never)).toEqual([]);
  });

  test('maxRegisteredNodes is validated', () => {
    expect(() => new HybridActivationApi(stack, 'Activations', { maxRegisteredNodes: 0 })).toThrow(
      /`maxRegisteredNodes` must be an integer from 1 to 100000, got: 0/,
    );
  });
});

describe('HybridActivationApi markerTagValue', () => {
  const WARNING = 'cdk-ssm-hybrid-fleet:markerTagValueNotPinned';

  test('a pinned value is used everywhere the marker is checked, and survives renaming the construct', () => {
    const { api, template } = build({ markerTagValue: 'fleet-eu', allowedTags: [{ key: 'Team' }] });
    expect(api.markerTagValue).toBe('fleet-eu');
    expect(handlerEnv(template)).toMatchObject({ MARKER_TAG_VALUE: 'fleet-eu' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DEREGISTER_OFFLINE_AFTER_SECONDS: Match.anyValue(), MARKER_TAG_VALUE: 'fleet-eu' }) },
    });
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).toContain('/hybrid-fleet:activation-api":"fleet-eu"');
    const renamed = new HybridActivationApi(new Stack(testApp(), 'Renamed'), 'Moved', { markerTagValue: 'fleet-eu' });
    expect(renamed.markerTagValue).toBe(api.markerTagValue);
    expect(JSON.stringify(Annotations.fromStack(stack).findWarning('*', Match.anyValue()))).not.toContain(WARNING);
  });

  test('unset, it keeps the path-derived value for compatibility and warns with the value to pin', () => {
    const { api } = build();
    expect(api.markerTagValue).toBe(api.node.addr);
    Annotations.fromStack(stack).hasWarning(
      '/TestStack/Activations',
      Match.stringLikeRegexp(`is not set, so it is derived from this construct's path: '${api.node.addr}'.*Pin it: markerTagValue: '${api.node.addr}'.*${WARNING}`),
    );
    // Renaming the construct changes the default, which is what the warning is about.
    const renamed = new HybridActivationApi(new Stack(testApp(), 'TestStack'), 'Renamed');
    expect(renamed.markerTagValue).not.toBe(api.markerTagValue);
  });

  test.each([
    ['', /`markerTagValue` must be 1 to 256 characters long, got: ''/],
    ['bad#value', /`markerTagValue` tag values may contain only letters, numbers, spaces and _ \. : \/ = \+ - @, got: 'bad#value'/],
    ['x'.repeat(257), /`markerTagValue` tag values must be at most 256 characters long, got 257/],
  ])('markerTagValue %j is refused', (markerTagValue, message) => {
    expect(() => new HybridActivationApi(stack, 'Activations', { markerTagValue })).toThrow(message);
  });

  test('a token is accepted unvalidated', () => {
    const { api } = build({ markerTagValue: Lazy.string({ produce: () => 'later' }) });
    expect(stack.resolve(api.markerTagValue)).toBe('later');
  });
});
