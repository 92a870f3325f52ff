// The list of test projects (the design card asks for this file). Vitest 4 does not read it by
// itself; vitest.config.ts imports it. Each entry has its own vitest.config.ts with `test.name`.
export default ['packages/*', 'apps/*', 'tools', 'e2e'];
