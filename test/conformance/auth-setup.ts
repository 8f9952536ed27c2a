/**
 * The `oauth` block an auth scenario of the conformance suite needs in the host's throwaway
 * config, made from what the runner hands the client: MCP_CONFORMANCE_CONTEXT, JSON with the
 * scenario's name and the credentials it pre-arranged with its authorization server (see the
 * table in client.test.ts). Most scenarios need none: OAuth applies on the server's 401 with
 * nothing configured. A credential goes into the throwaway home's default store by `mcpd secret
 * set` on stdin, and the config names it by reference: it is in no argv and no file in clear.
 */
import { z } from 'zod';
import type { Sandbox } from '../helpers/sandbox.js';

/**
 * The client_id basic-cimd expects (a WARNING otherwise). The runner does not pass it in the
 * context: it is a constant of its scenario, which only compares it and never fetches it.
 */
export const CIMD_URL = 'https://conformance-test.local/client-metadata.json';

const secretContext = z.object({ client_id: z.string().min(1), client_secret: z.string().min(1) });
const keyContext = z.object({
  client_id: z.string().min(1),
  private_key_pem: z.string().regex(/-----BEGIN PRIVATE KEY-----/, 'expected a PKCS#8 PEM key'),
  signing_algorithm: z.string().min(1),
});

export interface AuthSetup {
  /** The server's `oauth` setting; undefined: none written. */
  readonly oauth?: Record<string, unknown>;
  /** Credential values the runner handed over, which must not appear anywhere in clear. */
  readonly secrets: readonly string[];
}

type Setup = (context: unknown, s: Sandbox) => Promise<AuthSetup>;

const SETUPS: Record<string, Setup> = {
  'auth/basic-cimd': () => Promise.resolve({ oauth: { clientMetadataUrl: CIMD_URL }, secrets: [] }),
  // The authorization server has no registration endpoint: the client is the one pre-registered.
  'auth/pre-registration': async (context, s) => {
    const c = parse(secretContext, context);
    return { oauth: { clientId: c.client_id, clientSecret: await store(s, 'conformance/client-secret', c.client_secret) }, secrets: [c.client_secret] };
  },
  'auth/client-credentials-basic': async (context, s) => {
    const c = parse(secretContext, context);
    const clientSecret = await store(s, 'conformance/client-secret', c.client_secret);
    return { oauth: { grant: 'client_credentials', clientId: c.client_id, clientSecret }, secrets: [c.client_secret] };
  },
  // A fresh key per run; the authorization server verifies the assertion with its public half.
  'auth/client-credentials-jwt': async (context, s) => {
    const c = parse(keyContext, context);
    const privateKey = await store(s, 'conformance/private-key', c.private_key_pem);
    return {
      oauth: { grant: 'client_credentials', clientId: c.client_id, privateKey, signingAlgorithm: c.signing_algorithm },
      secrets: pemBody(c.private_key_pem),
    };
  },
};

/** The oauth block and the handed-over secrets for `scenario`, its credentials stored in `s`. */
export async function authSetup(scenario: string, contextText: string | undefined, s: Sandbox): Promise<AuthSetup> {
  const setup = SETUPS[scenario];
  if (!setup) return { secrets: [] };
  let context: unknown;
  try {
    context = JSON.parse(contextText ?? 'null');
  } catch {
    throw new Error(`${scenario}: MCP_CONFORMANCE_CONTEXT is not JSON`);
  }
  try {
    return await setup(context, s);
  } catch (error) {
    throw new Error(`${scenario}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function parse<T>(schema: z.ZodType<T>, context: unknown): T {
  const result = schema.safeParse(context);
  if (result.success) return result.data;
  // Names the fields, never their values: the context holds credentials.
  throw new Error(`the runner's context lacks what this scenario needs: ${result.error.issues.map((i) => `${i.path.join('.') || '(context)'}: ${i.message}`).join('; ')}`);
}

/** Stores `value` at secret:PATH in the sandbox's default store from stdin; its reference. */
async function store(s: Sandbox, path: string, value: string): Promise<string> {
  const run = await s.cli(['secret', 'set', `secret:${path}`], { input: value });
  if (run.exitCode !== 0) throw new Error(`mcpd secret set secret:${path} failed (${run.exitCode}): ${run.stderr}`);
  return `\${secret:${path}}`;
}

/** The base64 lines of a PEM: what a leak of the key would show, escaped or not. */
function pemBody(pem: string): string[] {
  return pem.split(/\r?\n/).filter((line) => line.length >= 16 && !line.startsWith('-----'));
}
