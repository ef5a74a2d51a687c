// Reads a plain env var and proves a secret arrived — without ever printing the secret.
interface Context {
  env: Record<string, string>;
}

export default function envEcho(_request: Request, ctx: Context) {
  const secret = ctx.env.API_TOKEN;
  return { greeting: ctx.env.GREETING ?? null, secretPresent: secret !== undefined, secretLength: secret?.length ?? 0 };
}
