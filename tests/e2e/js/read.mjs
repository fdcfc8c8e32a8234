// Reads through the AWS SDK for JavaScript v3, as a user's code would: stdin gives
// {"endpoint", "reads": [{"account", "operation", "params"}]}; stdout gets one answer per read:
// the items of every page of a List, the output of another read, or {"error": <name>}.
import {
  OrganizationsClient, DescribeHandshakeCommand, DescribeOrganizationCommand,
  paginateListHandshakesForAccount, paginateListHandshakesForOrganization, paginateListAccounts,
} from "@aws-sdk/client-organizations";

const PAGINATORS = {
  ListHandshakesForAccount: [paginateListHandshakesForAccount, "Handshakes"],
  ListHandshakesForOrganization: [paginateListHandshakesForOrganization, "Handshakes"],
  ListAccounts: [paginateListAccounts, "Accounts"],
};
const COMMANDS = { DescribeHandshake: DescribeHandshakeCommand, DescribeOrganization: DescribeOrganizationCommand };

const input = JSON.parse(await new Promise((done) => {
  let text = "";
  process.stdin.on("data", (chunk) => (text += chunk)).on("end", () => done(text));
}));

async function read({ account, operation, params }) {
  const client = new OrganizationsClient({
    endpoint: input.endpoint, region: "us-east-1", maxAttempts: 1,
    credentials: { accessKeyId: account, secretAccessKey: "js-sdk" },
  });
  try {
    if (operation in PAGINATORS) {
      const [paginate, key] = PAGINATORS[operation];
      const items = [];
      for await (const page of paginate({ client, pageSize: 2 }, params)) items.push(...page[key]);
      return items;
    }
    const { $metadata, ...output } = await client.send(new COMMANDS[operation](params));
    return output;
  } catch (error) {
    return { error: error.name };
  }
}

const answers = [];
for (const one of input.reads) answers.push(await read(one));
process.stdout.write(JSON.stringify(answers));
