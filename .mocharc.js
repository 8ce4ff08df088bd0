module.exports = {
  require: ["./tools/register.js", "./test/helpers/postgres-server.ts", "./test/helpers/openbao.ts"],
  spec: ["test/**/*.test.ts"],
  extension: ["ts"],
  timeout: 120000,
  reporter: "./tools/mocha-reporter.js",
};
