export * from './boot-script';
export * from './hybrid-activation-api';
export * from './activation-janitor';
