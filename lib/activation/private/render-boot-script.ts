import * as fs from 'fs';
import * as path from 'path';
import { BootScriptPlatform } from '../boot-script';

/*
 * Not API: the API renders the script with the mode of its `authorization`.
 */
/**
 * How a boot script authenticates to the activation API.
 */
export enum BootScriptAuth {
  /**
   * SigV4 with AWS credentials: the EC2 instance profile's, read from IMDSv2, or (Linux script, on-premises) those
   * a credential process prints, such as IAM Roles Anywhere's `aws_signing_helper` (`--credential-process`).
   */
  IAM = 'iam',
  /** The API key, read from `ACTIVATION_API_KEY` or a key file on the machine; never baked into the script. */
  API_KEY = 'api-key',
}

const API_URL_PLACEHOLDER = '@@ACTIVATION_API_URL@@';
const AUTH_PLACEHOLDER = '@@ACTIVATION_AUTH@@';

const SCRIPT_FILES: Record<BootScriptPlatform, string> = {
  [BootScriptPlatform.LINUX]: path.join('linux', 'register-node.sh'),
  [BootScriptPlatform.WINDOWS]: path.join('windows', 'register-node.ps1'),
};

/**
 * Path of the unrendered boot script shipped with the package (usable on-premises with `ACTIVATION_API_URL` set).
 */
export function bootScriptPath(platform: BootScriptPlatform): string {
  return path.join(__dirname, '..', '..', '..', 'boot', SCRIPT_FILES[platform]);
}

/**
 * Renders a shipped boot script with the API URL and authentication mode baked in.
 *
 * `apiUrl` may be a token (e.g. `RestApi.url`); the result then resolves at deploy time.
 */
export function renderBootScript(platform: BootScriptPlatform, apiUrl: string, auth: BootScriptAuth): string {
  const template = fs.readFileSync(bootScriptPath(platform), 'utf8');
  return template.split(API_URL_PLACEHOLDER).join(apiUrl).split(AUTH_PLACEHOLDER).join(auth);
}
