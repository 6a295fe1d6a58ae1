export * from './ssm-private-endpoints';
