export { Select, isSelect, type AnySelect, type ElemInner, type ElemName, type ElemOuter, type Preference, type StackElem } from './elements.js';
export type { CheckStack, Equals, HasSelect, SelectMismatch, ShowType, StackFits, StackMismatch } from './typecheck.js';
export { Stack, makeStack, select, type SelectOptions, type StackBottom, type StackTop } from './stack.js';
export { MAX_VARIANTS, describeStack, describeVariant, variants, type ChunnelOffer, type Choice, type Variant, type VariantOffer } from './variants.js';
export { incompatibilities, pickVariants, type CapabilitySide, type Incompatibility, type Pick, type PickOutcome, type SelectDecision } from './compat.js';
export { applyPass, rewriteElems, subst, type CheckPass, type Pass, type PassMismatch, type Rewrite, type Wildcard } from './pass.js';
export { wrap, wrapChunnels, type NoSelectAllowed } from './wrap.js';
