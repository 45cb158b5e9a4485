// Validates CycloneDX JSON files with the CycloneDX project's strict JSON
// validator (@cyclonedx/cyclonedx-library, ajv). Usage: node validate.js FILE...
// Prints "FILE: ok" or the schema errors; exits 1 when any file is invalid.
'use strict'
const fs = require('node:fs')
const { Spec, Validation } = require('@cyclonedx/cyclonedx-library')

const validators = new Map()

async function main (files) {
  let bad = 0
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8')
    let specVersion
    try {
      specVersion = JSON.parse(text).specVersion
    } catch (err) {
      console.log(`${f}: invalid: ${err.message}`)
      bad++
      continue
    }
    const version = Object.values(Spec.Version).find(v => v === specVersion)
    if (version === undefined) {
      console.log(`${f}: unknown specVersion ${JSON.stringify(specVersion)}`)
      bad++
      continue
    }
    if (!validators.has(version)) validators.set(version, new Validation.JsonStrictValidator(version))
    const errors = await validators.get(version).validate(text)
    if (errors === null) {
      console.log(`${f}: ok (CycloneDX ${version}, strict)`)
    } else {
      console.log(`${f}: invalid:\n${JSON.stringify(errors, null, 2)}`)
      bad++
    }
  }
  return bad
}

main(process.argv.slice(2)).then(bad => { process.exitCode = bad > 0 ? 1 : 0 }, err => {
  console.error(err)
  process.exitCode = 2
})
