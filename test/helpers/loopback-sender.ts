import { WebhookSender } from '../../libs/outbound/webhook-sender';
import { OutboundPolicy, REFUSAL_PREFIX, Verdict } from '../../libs/outbound/address-policy';

/**
 * A sender that reaches this machine's loopback only: for suites whose requests name URLs a tool made up
 * (schemathesis subscribes https://… hosts and asks for test sends), so nothing leaves 127.0.0.1. Public
 * addresses are refused like private ones, and no hostname but localhost is ever resolved.
 */
class LoopbackOnlyPolicy extends OutboundPolicy {
  constructor() {
    super(['127.0.0.1/32', '::1/128']);
  }

  override checkAddress(address: string, hostname?: string): Verdict {
    const verdict = super.checkAddress(address, hostname);
    if (!verdict.allowed || verdict.allowlisted) return verdict;
    return {
      allowed: false,
      address: verdict.address,
      reason: 'outside this test machine',
      message: `${REFUSAL_PREFIX}: ${verdict.address} is outside this test machine`,
    };
  }
}

export function loopbackOnlySender(): WebhookSender {
  return new WebhookSender({
    policy: new LoopbackOnlyPolicy(),
    lookup: async (hostname) => {
      if (hostname === 'localhost') return [{ address: '127.0.0.1', family: 4 }];
      throw Object.assign(new Error(`${hostname} is not resolved in this test`), { code: 'ENOTFOUND' });
    },
  });
}
