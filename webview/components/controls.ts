/**
 * Our own thin controls over @vscode/webview-ui-toolkit (archived upstream): the panel only calls these
 * functions, so replacing the toolkit means rewriting this file alone.
 */
import { provideVSCodeDesignSystem, vsCodeBadge, vsCodeButton, vsCodeDropdown, vsCodeOption, vsCodeProgressRing } from '@vscode/webview-ui-toolkit';

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeBadge(), vsCodeProgressRing());
}

export interface ButtonOptions {
  label: string;
  title?: string;
  secondary?: boolean;
  onClick: () => void;
}

export function button(o: ButtonOptions): HTMLElement {
  register();
  const b = document.createElement('vscode-button');
  b.textContent = o.label;
  if (o.secondary) b.setAttribute('appearance', 'secondary');
  if (o.title) {
    b.title = o.title;
    b.setAttribute('aria-label', o.title);
  }
  b.addEventListener('click', o.onClick);
  return b;
}

export interface SelectOption {
  value: string;
  label: string;
}

export interface Select {
  element: HTMLElement;
  setOptions(options: SelectOption[], value: string): void;
  setValue(value: string): void;
  readonly value: string;
}

/** A labelled dropdown; `onChange` gets the chosen value. */
export function select(label: string, onChange: (value: string) => void): Select {
  register();
  const wrap = document.createElement('label');
  wrap.className = 'control';
  const text = document.createElement('span');
  text.textContent = label;
  const dd = document.createElement('vscode-dropdown') as HTMLElement & { value: string };
  dd.setAttribute('aria-label', label);
  dd.addEventListener('change', () => onChange(dd.value));
  wrap.append(text, dd);
  return {
    element: wrap,
    setOptions(options, value) {
      dd.replaceChildren(
        ...options.map((o) => {
          const opt = document.createElement('vscode-option') as HTMLElement & { value: string };
          opt.setAttribute('value', o.value);
          opt.textContent = o.label;
          if (o.value === value) opt.setAttribute('selected', '');
          return opt;
        }),
      );
      dd.value = value;
    },
    setValue(value) {
      dd.value = value;
    },
    get value() {
      return dd.value;
    },
  };
}

export function badge(text: string, title?: string): HTMLElement {
  const b = document.createElement('span');
  b.className = 'badge';
  b.textContent = text;
  if (title) b.title = title;
  return b;
}

export function spinner(label: string): HTMLElement {
  register();
  const r = document.createElement('vscode-progress-ring');
  r.setAttribute('aria-label', label);
  return r;
}
