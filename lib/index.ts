export * from './activation';
export * from './patching';
