export * from './compliance-topic';
export * from './config-recorder-choice';
export * from './fleet-compliance';
export * from './fleet-config-recorder';
export * from './instance-profile-coverage';
export * from './node-remediation-runbook';
export * from './remediation-mode';
export * from './compliance-dashboard';
