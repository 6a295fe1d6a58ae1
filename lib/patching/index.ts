export * from './association-schedule';
export * from './maintenance-schedule';
export * from './maintenance-window';
export * from './maintenance-window-target';
export * from './operating-system';
export * from './patch-baseline';
