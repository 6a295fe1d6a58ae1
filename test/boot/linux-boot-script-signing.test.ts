/**
 * The Linux boot script on hosts whose curl cannot sign (RHEL/Alma/Rocky 8 ship curl 7.61, Ubuntu 20.04 7.68;
 * --aws-sigv4 needs 7.75): credentials never leave unsigned, the script signs SigV4 itself, and the signature is
 * recomputed here. Also: credentials from a credential process (IAM Roles Anywhere), and the umask the agent
 * is started with.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BootScriptAuth } from '../../lib/activation/private/render-boot-script';
import {
  AKID, API_KEY, FAST_RETRIES, FakeServer, INSTANCE_ID, MANAGED_ID, RecordedRequest, SESSION_TOKEN, SECRET_KEY,
  cleanUp, expectNoSecrets, expectRegistered, installOldCurl, installSigningHelper, makeSandbox, run, server,
  sigV4Signature, success,
} from './harness';

afterEach(cleanUp);

const RA = { akid: 'ASIAROLESANYWHERE123', secret: 'rOlEsAnYwHeRe/SeCrEt+KeY/0123456789abcdEF', token: 'IQoRolesAnywhere+token/EXAMPLE==' };
const HELPER_ARGS = [
  'credential-process', '--certificate', '/etc/pki/node/cert.pem', '--private-key', '/etc/pki/node/key.pem',
  '--trust-anchor-arn', 'arn:aws:rolesanywhere:eu-west-1:111122223333:trust-anchor/ta-1',
  '--profile-arn', 'arn:aws:rolesanywhere:eu-west-1:111122223333:profile/p-1',
  '--role-arn', 'arn:aws:iam::111122223333:role/hybrid-activation-caller',
];

function allRequests(api: FakeServer): RecordedRequest[] {
  return [...api.apiRequests, ...api.tagRequests, ...api.imdsRequests];
}

/** Asserts a request carries a SigV4 signature (for execute-api in `region`) that verifies with `secret`. */
function expectSigned(req: RecordedRequest, akid: string, secret: string, token: string, region = 'eu-west-1') {
  const auth = String(req.headers.authorization);
  expect(auth).toMatch(new RegExp(
    `^AWS4-HMAC-SHA256 Credential=${akid}/(\\d{8})/${region}/execute-api/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`,
  ));
  const signed = /SignedHeaders=([^,]+)/.exec(auth)![1].split(';');
  expect(signed).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-security-token', 'content-type']));
  const date = /Credential=[^/]+\/(\d{8})\//.exec(auth)![1];
  expect(/Signature=([0-9a-f]{64})/.exec(auth)![1]).toBe(sigV4Signature(req, region, date, secret));
  expect(req.headers['x-amz-security-token']).toBe(token);
  expect(req.headers['x-amz-date']).toMatch(new RegExp(`^${date}T\\d{6}Z$`));
  expect(req.headers['x-api-key']).toBeUndefined();
}

/** What the script runs besides curl, the hashers (sha256sum, openssl) excluded. */
const SCRIPT_TOOLS = ['bash', 'sh', 'awk', 'sed', 'tr', 'grep', 'head', 'mktemp', 'rm', 'date', 'sleep', 'od', 'cat'];

/** Links `tools` from this machine's PATH into the sandbox's bin, to run the script with PATH=<bin> only. */
function linkTools(sb: ReturnType<typeof makeSandbox>, tools: string[]) {
  for (const tool of tools) {
    const dir = (process.env.PATH ?? '/usr/bin:/bin').split(':').find((d) => fs.existsSync(path.join(d, tool)));
    if (!dir) throw new Error(`${tool} is not installed`);
    fs.symlinkSync(path.join(dir, tool), path.join(sb.bin, tool));
  }
}

function expectNoBasicAuth(api: FakeServer) {
  for (const req of allRequests(api)) expect(String(req.headers.authorization ?? '')).not.toMatch(/^Basic/i);
}

describe('linux boot script with a curl that cannot sign (curl 7.61)', () => {
  test('never sends Authorization: Basic; signs SigV4 itself (POST and PUT verified), registers', async () => {
    const api = await server([success({ instanceName: INSTANCE_ID })]);
    const sb = makeSandbox();
    installOldCurl(sb);
    const r = await run(sb, sb.script(api.apiUrl, BootScriptAuth.IAM), ['--tag', 'PatchMode=report', '--tag-after-registration'], {
      ...FAST_RETRIES, IMDS_ENDPOINT: api.origin, ACTIVATION_API_REGION: 'eu-west-1',
    });

    expect(r.stderr).not.toMatch(/error|warning/);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('register-node: curl 7.61.1 cannot sign (--aws-sigv4 needs 7.75 or later): signing SigV4 in the script');
    expectNoBasicAuth(api);
    expect(api.apiRequests).toHaveLength(1);
    const post = api.apiRequests[0];
    expectSigned(post, AKID, SECRET_KEY, SESSION_TOKEN);
    expect(post.headers['x-amz-content-sha256']).toBe(crypto.createHash('sha256').update(post.body).digest('hex'));
    expect(post.headers.host).toBe(new URL(api.origin).host);
    expect(JSON.parse(post.body)).toEqual({ name: INSTANCE_ID, tags: { PatchMode: 'report' } });
    expect(api.tagRequests).toHaveLength(1);
    expect(api.tagRequests[0].url).toBe(`/prod/instances/${MANAGED_ID}/tags`);
    expectSigned(api.tagRequests[0], AKID, SECRET_KEY, SESSION_TOKEN);
    expectRegistered(sb);
    expectNoSecrets(r);
    expect(r.stderr).not.toContain(AKID);
  });

  test('a curl that claims 8.x but does not take --aws-sigv4 is not trusted either (the option is probed)', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    installOldCurl(sb, '8.5.0');
    const r = await run(sb, sb.script(api.apiUrl, BootScriptAuth.IAM), ['--name', 'web-01'], {
      ...FAST_RETRIES, IMDS_ENDPOINT: api.origin, ACTIVATION_API_REGION: 'eu-west-1',
    });

    expect(r.code).toBe(0);
    expect(r.stderr).toContain('curl 8.5.0 cannot sign');
    expectNoBasicAuth(api);
    expectSigned(api.apiRequests[0], AKID, SECRET_KEY, SESSION_TOKEN);
    expectRegistered(sb);
  });

  test('without sha256sum it hashes with openssl dgst (RHEL 7/8, Ubuntu 18.04/20.04 have it)', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    installOldCurl(sb);
    linkTools(sb, [...SCRIPT_TOOLS, 'openssl']);
    const r = await run(sb, sb.script(api.apiUrl, BootScriptAuth.IAM), ['--name', 'web-01'], {
      ...FAST_RETRIES, PATH: sb.bin, IMDS_ENDPOINT: api.origin, ACTIVATION_API_REGION: 'eu-west-1',
    });

    expect(r.code).toBe(0);
    expect(r.stderr).toContain('signing SigV4 in the script (openssl)');
    expectNoBasicAuth(api);
    expectSigned(api.apiRequests[0], AKID, SECRET_KEY, SESSION_TOKEN);
    expectRegistered(sb);
  });

  test('with no way to sign, it fails before reading any credential', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    installOldCurl(sb);
    linkTools(sb, SCRIPT_TOOLS);
    const r = await run(sb, sb.script(api.apiUrl, BootScriptAuth.IAM), ['--name', 'web-01'], {
      ...FAST_RETRIES, PATH: sb.bin, IMDS_ENDPOINT: api.origin, ACTIVATION_API_REGION: 'eu-west-1',
    });

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('register-node: error: cannot sign requests: curl 7.61.1 lacks --aws-sigv4');
    expect(r.stderr).toContain('no credentials were read');
    expect(api.imdsRequests).toHaveLength(0);
    expect(api.apiRequests).toHaveLength(0);
  });
});

describe('linux boot script with a credential process (IAM Roles Anywhere)', () => {
  test.each([
    ['curl 7.61 (the script signs)', true],
    ['a curl that signs itself', false],
  ])('%s: signs with the process credentials, never touches IMDS, names the node after the host', async (_what, oldCurl) => {
    const api = await server([success({ instanceName: 'web-01' })]);
    const sb = makeSandbox();
    if (oldCurl) installOldCurl(sb);
    const argsFile = installSigningHelper(sb, RA);
    const r = await run(sb, sb.script(), ['--credential-process', `aws_signing_helper ${HELPER_ARGS.join(' ')}`, '--region', 'eu-west-1'], {
      ...FAST_RETRIES, ACTIVATION_API_URL: api.apiUrl, IMDS_ENDPOINT: api.origin,
    });

    expect(r.stderr).not.toMatch(/error|warning/);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(argsFile, 'utf8').trim().split('\n')).toEqual(HELPER_ARGS);
    expect(api.imdsRequests).toHaveLength(0);
    expectNoBasicAuth(api);
    expectSigned(api.apiRequests[0], RA.akid, RA.secret, RA.token);
    expect(JSON.parse(api.apiRequests[0].body)).toEqual({ name: os.hostname().split('.')[0] });
    expectRegistered(sb);
    for (const secret of [RA.secret, RA.token, RA.akid]) expect(r.stderr).not.toContain(secret);
    expect(r.stderr).toContain('requesting an activation for');
    expect(r.stderr).toContain('(iam auth)');
  });

  test('a failing or malformed credential process, or one combined with api-key auth, stops before any request', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    installSigningHelper(sb, RA);
    const base = { ...FAST_RETRIES, ACTIVATION_API_URL: api.apiUrl, ACTIVATION_API_REGION: 'eu-west-1', ACTIVATION_CREDENTIAL_PROCESS: 'aws_signing_helper credential-process' };

    const failed = await run(sb, sb.script(), ['--name', 'web-01'], { ...base, FAKE_SIGNING_HELPER_EXIT: '2' });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('register-node: error: the credential process failed (exit 2): AccessDeniedException: no trust anchor matches');

    const noVersion = await run(sb, sb.script(), ['--name', 'web-01'], {
      ...base, FAKE_SIGNING_HELPER_OUTPUT: JSON.stringify({ AccessKeyId: RA.akid, SecretAccessKey: RA.secret }),
    });
    expect(noVersion.code).not.toBe(0);
    expect(noVersion.stderr).toContain('register-node: error: the credential process printed no JSON with "Version": 1');

    const apiKey = await run(sb, sb.script(), ['--name', 'web-01', '--auth', 'api-key'], { ...base, ACTIVATION_API_KEY: API_KEY });
    expect(apiKey.code).not.toBe(0);
    expect(apiKey.stderr).toContain('register-node: error: --credential-process (ACTIVATION_CREDENTIAL_PROCESS) needs iam auth, not api-key');

    const noRegion = await run(sb, sb.script(), ['--name', 'web-01'], { ...base, ACTIVATION_API_REGION: '' });
    expect(noRegion.code).not.toBe(0);
    expect(noRegion.stderr).toContain("register-node: error: --credential-process needs the API's region");

    for (const r of [failed, noVersion, apiKey, noRegion]) {
      for (const secret of [RA.secret, RA.token]) expect(r.stderr).not.toContain(secret);
    }
    expect(api.apiRequests).toHaveLength(0);
    expect(sb.agentArgs()).toBeUndefined();
  });
});

describe('linux boot script: umask', () => {
  test('the agent is stopped and started with the caller\'s umask, not the script\'s private 077', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01'], { ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY }, { umask: '0027' });

    expect(r.code).toBe(0);
    expect(sb.umasks()).toEqual(['systemctl stop amazon-ssm-agent umask=0027', 'systemctl start amazon-ssm-agent umask=0027']);
    expectRegistered(sb);
  });
});
