export * from './boot-script';
export * from './hybrid-activation-api';
