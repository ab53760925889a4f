// What function bundles get for `node:http` (infra/bundle.ts says why): the module itself, not its ESM facade.
module.exports = process.getBuiltinModule('node:http');
