export * from './inventory-type';
export * from './inventory-collection';
