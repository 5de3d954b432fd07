// app/webhooks/intelliauth/route.ts in a Next.js (App Router) project.
import { verifyWebhook, WebhookVerificationError } from '@intelliauth/webhooks-receiver';

export async function POST(request: Request): Promise<Response> {
  try {
    // request.text() is the raw body; request.headers is a Fetch Headers, which the verifier takes as it is.
    const event = verifyWebhook(await request.text(), request.headers, process.env.WEBHOOK_SECRET!);
    console.log(`${event.event_type} ${event.event_id}`); // dedupe on event_id (at-least-once), enqueue, answer fast
    return new Response(null, { status: 204 });
  } catch (error) {
    if (error instanceof WebhookVerificationError) return Response.json({ error: error.code }, { status: 400 });
    throw error;
  }
}
