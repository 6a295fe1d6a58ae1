/**
 * Runs the real Linux boot script (boot/linux/register-node.sh) with bash against a loopback fake activation API
 * (which also plays IMDSv2 and the tag-node endpoint), with a fake amazon-ssm-agent (which writes the agent's
 * registration file like the real one) and systemctl on PATH; lints it with ShellCheck. The signing fallback
 * for old curl, credential processes and the umask are in linux-boot-script-signing.test.ts.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BootScriptAuth } from '../../lib/activation/private/render-boot-script';
import {
  ACTIVATION_ID, ACTIVATION_REGION, AKID, API_KEY, FAST_RETRIES, IMDS_TOKEN, INSTANCE_ID, LINUX_SCRIPT, MANAGED_ID,
  ROLE_NAME, SESSION_TOKEN, cleanUp, expectNoSecrets, expectRegistered, freePort, makeSandbox, run, server,
  sigV4Signature, success,
} from './harness';

afterEach(cleanUp);

describe('linux boot script (register-node.sh)', () => {
  test('passes bash -n', async () => {
    const r = await new Promise<number | null>((resolve) => {
      spawn('bash', ['-n', LINUX_SCRIPT], { stdio: 'ignore' }).on('close', resolve);
    });
    expect(r).toBe(0);
  });

  test('ShellCheck reports nothing at severity warning or above', () => {
    const found = spawnSync('sh', ['-c', 'command -v shellcheck'], { encoding: 'utf8' });
    if (found.status !== 0) {
      throw new Error('shellcheck is not installed: install it (Debian/Ubuntu: apt-get install -y shellcheck; .ci/run does this as root)');
    }
    const r = spawnSync('shellcheck', ['-S', 'warning', '-f', 'gcc', LINUX_SCRIPT], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('--help prints usage and exits 0', async () => {
    const sb = makeSandbox();
    const r = await run(sb, sb.script(), ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: register-node\.sh/);
    expect(r.stdout).toContain('--tag KEY=VALUE');
    expect(r.stdout).toContain('--tag-after-registration');
    expect(r.stdout).toContain('ACTIVATION_TAG_AFTER_REGISTRATION=true');
    expect(r.stdout).toContain('PUT <api-url>/instances/<mi-id>/tags');
    expect(r.stdout).toContain('--strict-tagging');
    expect(r.stdout).toContain('SSM_REGISTRATION_FILE');
    expect(r.stdout).toContain('--credential-process COMMAND');
    expect(r.stdout).toContain('ACTIVATION_CREDENTIAL_PROCESS');
    expect(r.stdout).toContain('aws_signing_helper credential-process');
    expect(r.stdout).toContain('curl --aws-sigv4 when curl is 7.75 or later');
  });

  test('api-key mode: sends the key, name and tags, registers the agent, never prints the code or key', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl, BootScriptAuth.API_KEY), [
      '--name', 'web-01', '--tag', 'Team=platform', '--tag', 'Note=say "hi" \\ back=1',
    ], { ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY });

    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(api.apiRequests).toHaveLength(1);
    const req = api.apiRequests[0];
    expect(req.headers['x-api-key']).toBe(API_KEY);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.authorization).toBeUndefined();
    expect(JSON.parse(req.body)).toEqual({ name: 'web-01', tags: { Team: 'platform', Note: 'say "hi" \\ back=1' } });
    expect(api.imdsRequests).toHaveLength(0);
    expectRegistered(sb);
    expectNoSecrets(r);
    // The fake agent echoed the code; the script masked it.
    expect(r.stderr).toContain('register-node: agent: fake agent: registering with -register -code *** -id');
    expect(r.stderr).toContain(`register-node: done: registered as 'web-01' (activation ${ACTIVATION_ID}, region ${ACTIVATION_REGION})`);
    for (const line of r.stderr.trim().split('\n')) expect(line).toMatch(/^register-node: /);
  });

  test('api-key mode: key from --api-key-file, name defaults to the short hostname, no tags', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const keyFile = path.join(sb.dir, 'api-key');
    fs.writeFileSync(keyFile, `${API_KEY}\n`, { mode: 0o600 });
    const r = await run(sb, sb.script(api.apiUrl, BootScriptAuth.API_KEY), ['--api-key-file', keyFile], FAST_RETRIES);

    expect(r.code).toBe(0);
    expect(api.apiRequests[0].headers['x-api-key']).toBe(API_KEY);
    expect(JSON.parse(api.apiRequests[0].body)).toEqual({ name: os.hostname().split('.')[0] });
    expectRegistered(sb);
    expectNoSecrets(r);
  });

  test('retries a 429 and succeeds on the second request', async () => {
    const api = await server([{ status: 429, body: { message: 'Too Many Requests' } }, success()]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01'], { ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY });

    expect(r.code).toBe(0);
    expect(api.apiRequests).toHaveLength(2);
    expect(r.stderr).toContain('attempt 1/4 failed (HTTP 429: Too Many Requests); retrying in');
    expectRegistered(sb);
    expectNoSecrets(r);
  });

  test('retries a 503 after the Retry-After delay and succeeds', async () => {
    const api = await server([
      { status: 503, body: { message: 'service unavailable, retry later', requestId: 'r-1' }, headers: { 'Retry-After': '1' } },
      success(),
    ]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01'], { ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY });

    expect(r.code).toBe(0);
    expect(api.apiRequests).toHaveLength(2);
    // The backoff alone would be ~0.05 s; Retry-After: 1 is honoured.
    expect(api.apiRequests[1].at - api.apiRequests[0].at).toBeGreaterThanOrEqual(950);
    expect(r.stderr).toContain('retrying in 1s');
    expectRegistered(sb);
  });

  test('a 400 fails at once with the server message and no retry', async () => {
    const api = await server([{ status: 400, body: { message: "tag key 'Bogus' is not allowed", requestId: 'r-2' } }, success()]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01', '--tag', 'Bogus=1'], {
      ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY,
    });

    expect(r.code).not.toBe(0);
    expect(api.apiRequests).toHaveLength(1);
    expect(r.stderr).toContain("register-node: error: activation API refused the request (HTTP 400): tag key 'Bogus' is not allowed");
    expect(sb.agentArgs()).toBeUndefined();
    expect(sb.calls()).toEqual([]);
  });

  test('a 403 (API Gateway) is not retried either', async () => {
    const api = await server([{ status: 403, body: { message: 'Forbidden' } }]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01'], { ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY });

    expect(r.code).not.toBe(0);
    expect(api.apiRequests).toHaveLength(1);
    expect(r.stderr).toContain('(HTTP 403): Forbidden');
  });

  test('gives up after ACTIVATION_MAX_ATTEMPTS on a persistent 500', async () => {
    const api = await server([{ status: 500, body: { message: 'internal error', requestId: 'r-3' } }]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01'], { ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY });

    expect(r.code).not.toBe(0);
    expect(api.apiRequests).toHaveLength(4);
    expect(r.stderr).toContain('register-node: error: giving up after 4 attempts; last: HTTP 500: internal error');
    expect(sb.agentArgs()).toBeUndefined();
    expect(r.ms).toBeLessThan(10000);
  });

  test('gives up when the retry budget in seconds is spent', async () => {
    const api = await server([{ status: 503, body: { message: 'busy' }, headers: { 'Retry-After': '5' } }]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01'], {
      ...FAST_RETRIES, ACTIVATION_RETRY_MAX_SECONDS: '2', ACTIVATION_API_KEY: API_KEY,
    });

    expect(r.code).not.toBe(0);
    expect(api.apiRequests).toHaveLength(1);
    expect(r.stderr).toMatch(/giving up after 1 attempts and \d+s \(retry budget 2s\); last: HTTP 503: busy/);
  });

  test('iam mode: SigV4-signs with instance-profile credentials from IMDSv2, names the node after the instance', async () => {
    const api = await server([success({ instanceName: INSTANCE_ID })]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl, BootScriptAuth.IAM), ['--tag', 'PatchMode=report'], {
      ...FAST_RETRIES, IMDS_ENDPOINT: api.origin, ACTIVATION_API_REGION: 'eu-west-1',
    });

    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(api.apiRequests).toHaveLength(1);
    const req = api.apiRequests[0];
    const auth = String(req.headers.authorization);
    expect(auth).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${AKID}/(\\d{8})/eu-west-1/execute-api/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`),
    );
    expect(req.headers['x-amz-security-token']).toBe(SESSION_TOKEN);
    expect(req.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(req.headers['x-api-key']).toBeUndefined();
    const date = /Credential=[^/]+\/(\d{8})\//.exec(auth)![1];
    expect(/Signature=([0-9a-f]{64})/.exec(auth)![1]).toBe(sigV4Signature(req, 'eu-west-1', date));
    expect(r.stderr).not.toContain('signing SigV4 in the script'); // this curl (7.75+) signs itself
    expect(JSON.parse(req.body)).toEqual({ name: INSTANCE_ID, tags: { PatchMode: 'report' } });

    // IMDSv2: a PUT for the token first, then every read carries it.
    expect(api.imdsRequests[0].method).toBe('PUT');
    expect(api.imdsRequests[0].url).toBe('/latest/api/token');
    for (const m of api.imdsRequests.slice(1)) expect(m.headers['x-aws-ec2-metadata-token']).toBe(IMDS_TOKEN);
    expect(api.imdsRequests.map((m) => m.url)).toEqual([
      '/latest/api/token',
      '/latest/meta-data/instance-id',
      '/latest/meta-data/iam/security-credentials/',
      `/latest/meta-data/iam/security-credentials/${ROLE_NAME}`,
    ]);
    expectRegistered(sb);
    expectNoSecrets(r);
    expect(r.stderr).not.toContain(AKID);
  });

  test('iam mode: region from IMDS when the URL is not an execute-api host; --name wins over the instance id', async () => {
    const api = await server([success()], { region: 'ap-southeast-2' });
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl, BootScriptAuth.IAM), ['--name', 'db-7'], {
      ...FAST_RETRIES, IMDS_ENDPOINT: api.origin,
    });

    expect(r.code).toBe(0);
    expect(String(api.apiRequests[0].headers.authorization)).toContain('/ap-southeast-2/execute-api/aws4_request');
    expect(JSON.parse(api.apiRequests[0].body)).toEqual({ name: 'db-7' });
    expect(api.imdsRequests.map((m) => m.url)).not.toContain('/latest/meta-data/instance-id');
    expectRegistered(sb);
  });

  test('iam mode without IMDS fails clearly before any API request', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const port = await freePort();
    const r = await run(sb, sb.script(api.apiUrl, BootScriptAuth.IAM), [], {
      ...FAST_RETRIES, IMDS_ENDPOINT: `http://127.0.0.1:${port}`, ACTIVATION_API_REGION: 'eu-west-1',
    });

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('register-node: error: cannot reach the EC2 instance metadata service');
    expect(api.apiRequests).toHaveLength(0);
  });

  test('the unrendered script without ACTIVATION_API_URL fails with a clear message', async () => {
    const sb = makeSandbox();
    const r = await run(sb, sb.script(), ['--name', 'web-01'], { ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY });

    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^register-node: error: no activation API URL: .*set ACTIVATION_API_URL or pass --api-url/m);
    expect(sb.agentArgs()).toBeUndefined();
  });

  test('the unrendered script works on-premises with ACTIVATION_API_URL and ACTIVATION_API_KEY', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(), ['--name', 'web-01'], {
      ...FAST_RETRIES, ACTIVATION_API_URL: api.apiUrl, ACTIVATION_API_KEY: API_KEY,
    });

    expect(r.code).toBe(0);
    expect(api.apiRequests[0].headers['x-api-key']).toBe(API_KEY);
    expectRegistered(sb);
    expectNoSecrets(r);
  });

  test('retries network errors (nothing listening) and then fails', async () => {
    const sb = makeSandbox();
    const port = await freePort();
    const r = await run(sb, sb.script(`http://127.0.0.1:${port}/prod/`), ['--name', 'web-01'], {
      ...FAST_RETRIES, ACTIVATION_MAX_ATTEMPTS: '3', ACTIVATION_API_KEY: API_KEY,
    });

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('attempt 1/3 failed (network error (curl exit 7)');
    expect(r.stderr).toContain('attempt 2/3 failed (network error (curl exit 7)');
    expect(r.stderr).toContain('register-node: error: giving up after 3 attempts; last: network error');
    expect(sb.agentArgs()).toBeUndefined();
    expectNoSecrets(r);
  });

  test('a missing agent fails before any activation is requested', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01'], {
      ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY, SSM_AGENT_BIN: path.join(sb.dir, 'no-such-agent'),
    });

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('register-node: error: SSM_AGENT_BIN=');
    expect(api.apiRequests).toHaveLength(0);
  });

  test('a failing agent registration exits non-zero, without starting the agent', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01'], {
      ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY, FAKE_AGENT_EXIT: '3',
    });

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('register-node: error: amazon-ssm-agent -register failed (exit 3)');
    expect(sb.calls()).toEqual(['systemctl stop amazon-ssm-agent', expect.stringMatching(/^amazon-ssm-agent -register /)]);
    expectNoSecrets(r);
  });

  test('api-key mode without a key fails before any request', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01'], FAST_RETRIES);

    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('register-node: error: api-key auth needs the API key');
    expect(api.apiRequests).toHaveLength(0);
  });
});

describe('linux boot script: re-applying the tags after registration (--tag-after-registration)', () => {
  const TAG_PATH = `/prod/instances/${MANAGED_ID}/tags`;

  test('api-key mode: after the agent registered, PUTs the same tags to the node from the registration file', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl, BootScriptAuth.API_KEY), [
      '--name', 'web-01', '--tag', 'Team=platform', '--tag', 'Note=say "hi" \\ back=1', '--tag-after-registration',
    ], { ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY });

    expect(r.stderr).not.toMatch(/error|warning/);
    expect(r.code).toBe(0);
    expectRegistered(sb);
    // The fake agent wrote the registration file during -register; the script read the id from it.
    expect(JSON.parse(fs.readFileSync(sb.registrationFile, 'utf8'))).toEqual({ ManagedInstanceID: MANAGED_ID, Region: ACTIVATION_REGION });
    expect(api.apiRequests).toHaveLength(1);
    expect(api.tagRequests).toHaveLength(1);
    const put = api.tagRequests[0];
    expect(put.method).toBe('PUT');
    expect(put.url).toBe(TAG_PATH);
    expect(put.at).toBeGreaterThanOrEqual(api.apiRequests[0].at);
    expect(put.headers['x-api-key']).toBe(API_KEY);
    expect(put.headers['content-type']).toBe('application/json');
    expect(put.headers.authorization).toBeUndefined();
    expect(JSON.parse(put.body)).toEqual({ tags: { Team: 'platform', Note: 'say "hi" \\ back=1' } });
    expect(r.stderr).toContain(`register-node: re-applying 2 tag(s) to ${MANAGED_ID}: PUT ${api.apiUrl}instances/${MANAGED_ID}/tags`);
    expect(r.stderr).toContain(`register-node: tagged ${MANAGED_ID}`);
    // Tagging happens after the agent was started, before the final line.
    const lines = r.stderr.trim().split('\n');
    expect(lines.findIndex((l) => l.includes('tagged mi-'))).toBeGreaterThan(lines.findIndex((l) => l.includes('starting amazon-ssm-agent')));
    expect(lines[lines.length - 1]).toMatch(/^register-node: done: registered as 'web-01'/);
    expectNoSecrets(r);
  });

  test('iam mode (env ACTIVATION_TAG_AFTER_REGISTRATION=true, pre-seeded registration file): the PUT is SigV4-signed too', async () => {
    const api = await server([success({ instanceName: INSTANCE_ID })]);
    const sb = makeSandbox();
    const regFile = path.join(sb.dir, 'seeded-registration');
    fs.writeFileSync(regFile, JSON.stringify({ ManagedInstanceID: 'mi-0fedcba9876543210', Region: 'eu-west-1', Extra: 'x' }, null, 2));
    const r = await run(sb, sb.script(api.apiUrl, BootScriptAuth.IAM), ['--tag', 'PatchMode=report'], {
      ...FAST_RETRIES, IMDS_ENDPOINT: api.origin, ACTIVATION_API_REGION: 'eu-west-1',
      ACTIVATION_TAG_AFTER_REGISTRATION: 'true', SSM_REGISTRATION_FILE: regFile, FAKE_AGENT_NO_REGISTRATION_FILE: '1',
    });

    expect(r.stderr).not.toMatch(/error|warning/);
    expect(r.code).toBe(0);
    expectRegistered(sb);
    expect(api.tagRequests).toHaveLength(1);
    const put = api.tagRequests[0];
    expect(put.url).toBe('/prod/instances/mi-0fedcba9876543210/tags');
    const auth = String(put.headers.authorization);
    expect(auth).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${AKID}/(\\d{8})/eu-west-1/execute-api/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`),
    );
    const date = /Credential=[^/]+\/(\d{8})\//.exec(auth)![1];
    expect(/Signature=([0-9a-f]{64})/.exec(auth)![1]).toBe(sigV4Signature(put, 'eu-west-1', date));
    expect(put.headers['x-amz-security-token']).toBe(SESSION_TOKEN);
    expect(put.headers['x-api-key']).toBeUndefined();
    expect(JSON.parse(put.body)).toEqual({ tags: { PatchMode: 'report' } });
    expectNoSecrets(r);
    expect(r.stderr).not.toContain(AKID);
  });

  test('without the flag no PUT is made; with the flag but no --tag neither', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01', '--tag', 'Team=platform'], {
      ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY,
    });
    expect(r.code).toBe(0);
    expect(api.apiRequests).toHaveLength(1);
    expect(api.tagRequests).toHaveLength(0);
    expect(r.stderr).not.toContain('tag(s)');

    const api2 = await server([success()]);
    const sb2 = makeSandbox();
    const r2 = await run(sb2, sb2.script(api2.apiUrl), ['--name', 'web-01', '--tag-after-registration'], {
      ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY,
    });
    expect(r2.code).toBe(0);
    expect(api2.tagRequests).toHaveLength(0);
    expect(r2.stderr).toContain('register-node: --tag-after-registration: no --tag given, nothing to re-apply');
    expectRegistered(sb2);
  });

  test('a 400 from the PUT is not retried: warning, masked message, exit 0 and the registration stands', async () => {
    const api = await server([success()], {
      tagResponses: [{ status: 400, body: { message: `tag key 'Team' is not allowed (key ${API_KEY})` } }, { status: 200, body: {} }],
    });
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01', '--tag', 'Team=platform', '--tag-after-registration'], {
      ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY,
    });

    expect(r.code).toBe(0);
    expect(api.tagRequests).toHaveLength(1);
    expect(r.stderr).toContain(
      `register-node: warning: could not tag ${MANAGED_ID}: activation API refused the tag request (HTTP 400): tag key 'Team' is not allowed (key ***)`,
    );
    expect(r.stderr).toContain('(the node is registered; continuing)');
    expect(r.stderr).toContain("register-node: done: registered as 'web-01'");
    expect(r.stderr).not.toContain('error');
    expectRegistered(sb);
    expectNoSecrets(r);
  });

  test('with --strict-tagging a failed PUT exits 3 (after registering and starting the agent)', async () => {
    const api = await server([success()], { tagResponses: [{ status: 400, body: { message: 'bad tags' } }] });
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), [
      '--name', 'web-01', '--tag', 'Team=platform', '--tag-after-registration', '--strict-tagging',
    ], { ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY });

    expect(r.code).toBe(3);
    expect(api.tagRequests).toHaveLength(1);
    expect(r.stderr).toContain(`register-node: error: could not tag ${MANAGED_ID}: activation API refused the tag request (HTTP 400): bad tags`);
    expect(r.stderr).not.toContain('register-node: done:');
    expectRegistered(sb);
  });

  test('a 503 from the PUT is retried and the second answer (200) wins', async () => {
    const api = await server([success()], {
      tagResponses: [{ status: 503, body: { message: 'service unavailable, retry later' } }, { status: 200, body: { instanceId: MANAGED_ID, tags: {} } }],
    });
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01', '--tag', 'Team=platform', '--tag-after-registration'], {
      ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY,
    });

    expect(r.code).toBe(0);
    expect(api.apiRequests).toHaveLength(1);
    expect(api.tagRequests).toHaveLength(2);
    expect(api.tagRequests[1].body).toBe(api.tagRequests[0].body);
    expect(r.stderr).toContain('attempt 1/4 failed (HTTP 503: service unavailable, retry later); retrying in');
    expect(r.stderr).toContain(`register-node: tagged ${MANAGED_ID}`);
    expect(r.stderr).not.toMatch(/warning|error/);
    expectRegistered(sb);
  });

  test('a 404 from the PUT (node not listed yet right after registering) is retried; the activation request never retries 404', async () => {
    const api = await server([success()], {
      tagResponses: [{ status: 404, body: { message: 'no node mi-x registered through this API' } }, { status: 200, body: { instanceId: MANAGED_ID, tags: {} } }],
    });
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01', '--tag', 'Team=platform', '--tag-after-registration'], {
      ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY,
    });
    expect(r.code).toBe(0);
    expect(api.tagRequests).toHaveLength(2);
    expect(r.stderr).toContain('attempt 1/4 failed (HTTP 404');
    expect(r.stderr).toContain(`register-node: tagged ${MANAGED_ID}`);

    const refused = await server([{ status: 404, body: { message: 'not found' } }]);
    const sb2 = makeSandbox();
    const r2 = await run(sb2, sb2.script(refused.apiUrl), ['--name', 'web-01'], { ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY });
    expect(r2.code).not.toBe(0);
    expect(refused.apiRequests).toHaveLength(1);
  });

  test('a PUT that keeps failing with 5xx gives up after ACTIVATION_MAX_ATTEMPTS with a warning, exit 0', async () => {
    const api = await server([success()], { tagResponses: [{ status: 500, body: { message: 'internal error' } }] });
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01', '--tag', 'Team=platform', '--tag-after-registration'], {
      ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY,
    });

    expect(r.code).toBe(0);
    expect(api.tagRequests).toHaveLength(4);
    expect(r.stderr).toContain(`register-node: warning: could not tag ${MANAGED_ID}: giving up after 4 attempts; last: HTTP 500: internal error`);
  });

  test('a missing registration file: warning, no PUT, exit 0 (exit 3 with --strict-tagging)', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const args = ['--name', 'web-01', '--tag', 'Team=platform', '--tag-after-registration'];
    const env = { ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY, FAKE_AGENT_NO_REGISTRATION_FILE: '1' };
    const r = await run(sb, sb.script(api.apiUrl), args, env);

    expect(r.code).toBe(0);
    expect(api.tagRequests).toHaveLength(0);
    expect(r.stderr).toContain(
      `register-node: warning: cannot read the agent's registration file '${sb.registrationFile}' to learn the managed-node id; the tags were not re-applied`,
    );
    expectRegistered(sb);

    const sb2 = makeSandbox();
    const r2 = await run(sb2, sb2.script(api.apiUrl), [...args, '--strict-tagging'], env);
    expect(r2.code).toBe(3);
    expect(r2.stderr).toContain("register-node: error: cannot read the agent's registration file");
    expect(api.tagRequests).toHaveLength(0);
  });

  test('a registration file without a managed-node id: warning, no PUT, exit 0', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01', '--tag', 'Team=platform', '--tag-after-registration'], {
      ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY, FAKE_MANAGED_INSTANCE_ID: 'i-0123456789abcdef0/../../activations',
    });

    expect(r.code).toBe(0);
    expect(api.tagRequests).toHaveLength(0);
    expect(r.stderr).toContain('register-node: warning: the agent\'s registration file');
    expect(r.stderr).toContain('holds no managed-node id');
  });

  test('bad settings fail before any activation is requested', async () => {
    const api = await server([success()]);
    const sb = makeSandbox();
    const r = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01', '--tag', 'Team=platform'], {
      ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY, ACTIVATION_TAG_AFTER_REGISTRATION: 'maybe',
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("register-node: error: ACTIVATION_TAG_AFTER_REGISTRATION must be true or false (got 'maybe')");

    const r2 = await run(sb, sb.script(api.apiUrl), ['--name', 'web-01', '--tag', 'Team=platform', '--strict-tagging'], {
      ...FAST_RETRIES, ACTIVATION_API_KEY: API_KEY,
    });
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toContain('register-node: error: --strict-tagging only makes sense with --tag-after-registration');
    expect(api.apiRequests).toHaveLength(0);
    expect(sb.agentArgs()).toBeUndefined();
  });
});
