export * from './inventory-type';
