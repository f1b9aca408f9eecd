export * from './password.ts';
export * from './auth-db.ts';
export * from './authorizer.ts';
