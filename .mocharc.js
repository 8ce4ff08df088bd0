module.exports = {
  require: ["./tools/register.js"],
  spec: ["test/**/*.test.ts"],
  extension: ["ts"],
  timeout: 120000,
  reporter: "./tools/mocha-reporter.js",
};
