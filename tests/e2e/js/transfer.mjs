// A billing transfer's life through the AWS SDK for JavaScript v3, as a user's code would drive it:
// stdin gives {"endpoint", "steps": [{"account", "operation", "params"}]} (StartTimestamp and EndTimestamp
// as ISO 8601 strings); stdout gets one answer per step: the output (Dates as ISO 8601 strings, no
// $metadata) or {"error": <name>, "reason": <Reason or null>}.
import {
  OrganizationsClient, AcceptHandshakeCommand, CancelHandshakeCommand, DeclineHandshakeCommand,
  DescribeResponsibilityTransferCommand, InviteOrganizationToTransferResponsibilityCommand,
  ListInboundResponsibilityTransfersCommand, ListOutboundResponsibilityTransfersCommand,
  TerminateResponsibilityTransferCommand, UpdateResponsibilityTransferCommand,
} from "@aws-sdk/client-organizations";

const COMMANDS = {
  AcceptHandshake: AcceptHandshakeCommand, CancelHandshake: CancelHandshakeCommand,
  DeclineHandshake: DeclineHandshakeCommand, DescribeResponsibilityTransfer: DescribeResponsibilityTransferCommand,
  InviteOrganizationToTransferResponsibility: InviteOrganizationToTransferResponsibilityCommand,
  ListInboundResponsibilityTransfers: ListInboundResponsibilityTransfersCommand,
  ListOutboundResponsibilityTransfers: ListOutboundResponsibilityTransfersCommand,
  TerminateResponsibilityTransfer: TerminateResponsibilityTransferCommand,
  UpdateResponsibilityTransfer: UpdateResponsibilityTransferCommand,
};
const INSTANTS = ["StartTimestamp", "EndTimestamp"];

const input = JSON.parse(await new Promise((done) => {
  let text = "";
  process.stdin.on("data", (chunk) => (text += chunk)).on("end", () => done(text));
}));

async function run({ account, operation, params }) {
  const client = new OrganizationsClient({
    endpoint: input.endpoint, region: "us-east-1", maxAttempts: 1,
    credentials: { accessKeyId: account, secretAccessKey: "js-sdk" },
  });
  const sent = { ...params };
  for (const name of INSTANTS) if (name in sent) sent[name] = new Date(sent[name]);
  try {
    const { $metadata, ...output } = await client.send(new COMMANDS[operation](sent));
    return output;
  } catch (error) {
    return { error: error.name, reason: error.Reason ?? null };
  }
}

const answers = [];
for (const step of input.steps) answers.push(await run(step));
process.stdout.write(JSON.stringify(answers));
