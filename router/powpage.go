package router

import (
	"html/template"
	"io"
)

// powPage is the proof-of-work page (abuse.challenge.mode: pow): it finds a
// counter whose SHA-256 of "nonce:counter" starts with the asked zero bits
// (a self-contained SHA-256, since crypto.subtle needs HTTPS), sets the
// cookie and loads the page again. Without JavaScript it says to retry.
var powPage = template.Must(template.New("pow").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>One moment</title></head>
<body><p>Checking your browser… this takes under a second.</p>
<noscript><p>Please enable JavaScript, or retry in a few seconds.</p></noscript>
<script>
(function(){
var N={{.Nonce}},B={{.Bits}},C={{.Cookie}};
var K=[],H=[];(function(){function f(x){return (x-Math.floor(x))*4294967296|0}
var n=2,c=0;while(c<64){var p=true;for(var d=2;d*d<=n;d++)if(n%d==0){p=false;break}
if(p){if(c<8)H[c]=f(Math.pow(n,1/2));K[c]=f(Math.pow(n,1/3));c++}n++}})();
function sha(s){var m=[],l=s.length,i;for(i=0;i<l;i++)m[i>>2]|=s.charCodeAt(i)<<(24-(i%4)*8);
m[l>>2]|=0x80<<(24-(l%4)*8);var w=((l+8)>>6)*16+15;for(i=(l>>2)+1;i<=w;i++)m[i]=m[i]|0;m[w]=l*8;
var h=H.slice(),W=[];for(var j=0;j<m.length;j+=16){var a=h[0],b=h[1],c=h[2],d=h[3],e=h[4],f=h[5],g=h[6],k=h[7];
for(i=0;i<64;i++){if(i<16)W[i]=m[j+i]|0;else{var x=W[i-15],y=W[i-2];
W[i]=(((x>>>7|x<<25)^(x>>>18|x<<14)^(x>>>3))+W[i-7]+((y>>>17|y<<15)^(y>>>19|y<<13)^(y>>>10))+W[i-16])|0}
var t1=(k+((e>>>6|e<<26)^(e>>>11|e<<21)^(e>>>25|e<<7))+((e&f)^(~e&g))+K[i]+W[i])|0;
var t2=(((a>>>2|a<<30)^(a>>>13|a<<19)^(a>>>22|a<<10))+((a&b)^(a&c)^(b&c)))|0;
k=g;g=f;f=e;e=(d+t1)|0;d=c;c=b;b=a;a=(t1+t2)|0}
h[0]=(h[0]+a)|0;h[1]=(h[1]+b)|0;h[2]=(h[2]+c)|0;h[3]=(h[3]+d)|0;h[4]=(h[4]+e)|0;h[5]=(h[5]+f)|0;h[6]=(h[6]+g)|0;h[7]=(h[7]+k)|0}
return h}
function ok(h){var z=0;for(var i=0;i<8;i++){if(h[i]===0){z+=32;continue}z+=Math.clz32(h[i]);break}return z>=B}
for(var n=0;n<4294967295;n++){if(ok(sha(N+":"+n))){document.cookie=C+"="+N+"."+n+"; path=/; SameSite=Lax";location.reload();return}}
})();
</script></body></html>
`))

// writePowPage writes the page for a nonce asking bits of proof of work.
func writePowPage(w io.Writer, cookie, nonce string, bits int) {
	powPage.Execute(w, struct {
		Nonce, Cookie string
		Bits          int
	}{nonce, cookie, bits})
}
