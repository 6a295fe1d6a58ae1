export * from './common';
export * from './activation';
export * from './patching';
export * from './inventory';
export * from './connectivity';
export * from './installer';
export * from './compliance';
export * from './fleet';
