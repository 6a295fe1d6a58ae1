export * from './agent-targets';
export * from './agent-installer';
export * from './agent-installer-shared-switch';
