// The scripted models the adapter tests run the frameworks with (no LLM, no key), shared by the unit tests and the
// end-to-end program: each first asks for one tool call, then answers with what the tool returned.
//
// - AI SDK: the AI SDK's own MockLanguageModelV3 (ai/test) whose doGenerate reads the prompt (LanguageModelV3Prompt):
//   a tool result in the prompt gives the text `calendar: <output>` (json value, error text or denial reason);
//   otherwise a tool-call of `toolName` with `input`.
// - LangGraph: an agent node for a MessagesAnnotation graph that asks for `toolName` once (an AIMessage with
//   tool_calls), then answers "done".

import { MockLanguageModelV3 } from 'ai/test';
import { AIMessage } from '@langchain/core/messages';

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

function outputText(output) {
  if (!output) return '';
  if (output.type === 'json') return JSON.stringify(output.value);
  if (output.type === 'execution-denied') return `denied: ${output.reason ?? ''}`;
  return String(output.value ?? '');
}

/** MockLanguageModelV3 that calls `toolName` once, then says `calendar: <the tool's output>`. */
export function calendarModel(toolName, input = {}) {
  let n = 0;
  return new MockLanguageModelV3({
    doGenerate: async ({ prompt }) => {
      const results = prompt.filter((m) => m.role === 'tool').flatMap((m) => m.content).filter((p) => p.type === 'tool-result');
      if (results.length > 0) {
        return { content: [{ type: 'text', text: `calendar: ${outputText(results.at(-1).output)}` }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] };
      }
      n++;
      return {
        content: [{ type: 'tool-call', toolCallId: `call_${n}_${Math.random().toString(36).slice(2, 8)}`, toolName, input: JSON.stringify(input) }],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage,
        warnings: [],
      };
    },
  });
}

/** A LangGraph node: the first turn asks for `toolName`, the turn after the tool's answer says "done". */
export function scriptedAgentNode(toolName) {
  let n = 0;
  return async (state) => {
    const last = state.messages.at(-1);
    if (last?.getType?.() === 'tool' || last?._getType?.() === 'tool') return { messages: [new AIMessage('done')] };
    n++;
    return { messages: [new AIMessage({ content: '', tool_calls: [{ name: toolName, args: {}, id: `call_${n}`, type: 'tool_call' }] })] };
  };
}
