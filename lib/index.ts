export * from './activation';
