// What test/global-setup.ts provides (declared there too; this file's tsconfig sees only
// workerd code).
declare module "vitest" {
  interface ProvidedContext {
    upstashUrl: string;
    upstashToken: string;
    redisUrl: string;
  }
}

export {};
