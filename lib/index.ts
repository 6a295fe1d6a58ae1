export * from './common';
export * from './activation';
export * from './patching';
export * from './inventory';
export * from './compliance';
