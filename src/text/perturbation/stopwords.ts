/**
 * English function words that word-level attacks leave alone (changing "the" or "of" says nothing
 * about a model's robustness and often breaks grammar). The threat model can replace the list.
 */
const WORDS =
  'a about above after again against all also am an and any are as at be because been before being below between both but by can could did do does doing down during each either else ever few for from further had has have having he her here hers herself him himself his how however i if in into is it its itself just may me might more most must my myself neither no nor not now of off on once only or other ought our ours ourselves out over own same shall she should so some such than that the their theirs them themselves then there these they this those through thus to too under until up upon us very was we were what when where whether which while who whom whose why will with within without would yet you your yours yourself yourselves';

export const DEFAULT_STOPWORDS: ReadonlySet<string> = new Set(WORDS.split(' '));

export function isStopword(word: string, stopwords: ReadonlySet<string>): boolean {
  return stopwords.has(word.toLowerCase());
}
