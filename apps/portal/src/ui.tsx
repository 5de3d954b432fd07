import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiFailure } from './api';

/** Loads data on mount and whenever `deps` change; `reload` runs it again (after an action). */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { data?: T; error?: ApiFailure; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: ApiFailure }>({});
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setState({ data }),
      (error: ApiFailure) => live && setState({ error }),
    );
    return () => void (live = false);
  }, [...deps, round]);
  return { ...state, reload: useCallback(() => setRound((n) => n + 1), []) };
}

export interface Action {
  busy: boolean;
  error?: ApiFailure;
  run: (action: () => Promise<unknown>) => Promise<void>;
}

/** Runs an action of a button: busy while it runs, its failure shown beside it. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiFailure>();
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure : new ApiFailure('client_error', String(failure)));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

export function Failure({ error }: { error?: ApiFailure }) {
  if (!error) return null;
  return (
    <p class="failure" role="alert">
      <code>{error.code}</code> {error.message}
    </p>
  );
}

export function Loading() {
  return <p aria-live="polite">Loading…</p>;
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="card">
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export function Time({ value }: { value?: string | null }) {
  if (!value) return <span class="muted">—</span>;
  return <time dateTime={value}>{new Date(value).toLocaleString()}</time>;
}

export function Status({ value }: { value: string }) {
  return <span class={`status status-${value}`}>{value.replace(/_/g, ' ')}</span>;
}

/** A value shown once (a signing secret), with a copy button. */
export function Secret({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret" role="status">
      <p>
        <strong>{label}</strong> It is shown this once: keep it in your receiver now.
      </p>
      <code data-testid="secret">{value}</code>{' '}
      <button type="button" onClick={() => navigator.clipboard.writeText(value).then(() => setCopied(true))}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre class="json" tabIndex={0} aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** Page through a cursor-paged list: "Newer" returns to the first page. */
export function Pager({
  cursor,
  next,
  onPage,
}: {
  cursor?: string;
  next?: string | null;
  onPage: (cursor?: string) => void;
}) {
  return (
    <nav class="pager" aria-label="Pages">
      {cursor && (
        <button type="button" onClick={() => onPage(undefined)}>
          First page
        </button>
      )}
      {next && (
        <button type="button" onClick={() => onPage(next)}>
          Next page
        </button>
      )}
    </nav>
  );
}

/** A table of rows under column headers, scrolling sideways in a narrow frame rather than widening the page. */
export function Table({
  columns,
  children,
  testId,
}: {
  columns: string[];
  children: ComponentChildren;
  testId?: string;
}) {
  return (
    <div class="scroll">
      <table data-testid={testId}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A labelled select; with `any`, a first option that means "no filter" (the empty value). */
export function Choice({
  label,
  value,
  options,
  onChange,
  any,
}: {
  label: string;
  value: string;
  options: Array<string | [string, string]>;
  onChange: (value: string) => void;
  any?: boolean;
}) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {any && <option value="">any</option>}
        {options.map((option) => {
          const [optionValue, text] = typeof option === 'string' ? [option, option.replace(/_/g, ' ')] : option;
          return (
            <option key={optionValue} value={optionValue}>
              {text}
            </option>
          );
        })}
      </select>
    </label>
  );
}

/** A point in time picked in the browser's time zone, kept as RFC 3339 (UTC) for the API; empty for none. */
export function TimeInput({
  label,
  value,
  onChange,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
}) {
  const local = value ? toLocalInput(new Date(value)) : '';
  return (
    <label>
      {label}
      <input
        type="datetime-local"
        value={local}
        onChange={(e) => onChange(e.currentTarget.value ? new Date(e.currentTarget.value).toISOString() : '')}
      />
    </label>
  );
}

/** `datetime-local` takes local wall-clock time without a zone: the date's own, shifted by its offset. */
function toLocalInput(date: Date): string {
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** A button that performs an API call through `action`: disabled while any call of that action runs. */
export function ActionButton(props: {
  action: Action;
  perform: () => Promise<unknown>;
  kind?: 'primary' | 'danger';
  label?: string;
  disabled?: boolean;
  children: ComponentChildren;
}) {
  const { action, perform, kind, label, disabled, children } = props;
  return (
    <button
      type="button"
      class={kind}
      aria-label={label}
      disabled={action.busy || disabled}
      onClick={() => action.run(perform)}
    >
      {children}
    </button>
  );
}
