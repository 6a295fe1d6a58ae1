export * from './maintenance-schedule';
export * from './maintenance-window';
export * from './maintenance-window-target';
export * from './patch-group';
export * from './patch-log-bucket';
export * from './operating-system';
export * from './patch-baseline';
export * from './stopped-instance-patching';
