// Validates the OpenAPI document read from stdin against the official OpenAPI schema of
// its version (@seriousme/openapi-schema-validator, installed by scripts/setup.sh with
// `npm ci` in this folder). Prints {"valid", "version", "errors"} as JSON on stdout and
// exits 0 only when the document is valid; 2 when it cannot even be read.
import { Validator } from "@seriousme/openapi-schema-validator";

let text = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) text += chunk;

let doc;
try {
  doc = JSON.parse(text);
} catch (e) {
  console.log(JSON.stringify({ valid: false, version: null, errors: [`not JSON: ${e.message}`] }));
  process.exit(2);
}
const validator = new Validator();
const result = await validator.validate(doc);
console.log(JSON.stringify({ valid: result.valid, version: validator.version ?? null, errors: result.errors ?? [] }));
process.exit(result.valid ? 0 : 1);
